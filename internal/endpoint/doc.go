// Package endpoint is azexec's managed identity endpoint: an HTTP server
// that hands tokens for the identity azexec resolved to whoever holds the
// run's secret, so that a child process or a container never holds a
// long-lived credential.
//
// It is one server with two wirings. `azexec --inject endpoint` starts it
// on a random loopback port for the life of COMMAND; `azexec serve` starts
// it on the address the user chose (loopback by default, or a container
// bridge's gateway) for containers. The caller makes the listener and the
// secret and passes them in, so the server never decides where it listens.
//
// # Protocols
//
// Three forms of the managed identity protocol are served, one per kind of
// client:
//
//   - App Service 2019-08-01: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R
//     with the header X-IDENTITY-HEADER. Every current Azure SDK and az CLI
//     use it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set.
//   - Cloud Shell: POST to MSI_ENDPOINT exactly, the form resource=R, with
//     the header Metadata: true. Clients that know only MSI_ENDPOINT (the
//     az CLI before its MSAL rewrite, msrestazure) send it.
//   - App Service 2017-09-01 (also Azure ML's form): GET
//     {MSI_ENDPOINT}[/]?api-version=2017-09-01&resource=R with the header
//     secret: MSI_SECRET.
//
// # Who gets a token
//
// Only a caller holding the run's secret. The App Service forms carry it
// in a header. The Cloud Shell form carries no secret at all, so
// MSI_ENDPOINT's path holds one: a value derived from the run's secret that
// nobody without the environment can guess. Every comparison is in
// constant time. The Host header must name the address the server was
// told it is reached by, which defeats DNS rebinding. A request naming
// another identity (client_id, object_id, mi_res_id) gets the error a
// managed identity endpoint returns; a resource outside the allow list
// gets 403.
//
// # Tokens
//
// Tokens are cached in memory per scope, refreshed in the background
// before they expire, and concurrent requests for one scope wait on one
// upstream request: 64 containers starting at once cost one token request.
//
// Every request is logged once, at info level: the caller's address, the
// resource, the status and whether the cache answered. Never a token, and
// never the secret.
package endpoint
