// Package fakeazure is a local, in-process stand-in for the parts of Azure
// that azexec talks to, for end-to-end tests and demos that must never reach
// the real cloud.
//
// # Why it exists
//
// azexec's job is to run the real Azure SDKs' credential flows (MSAL for Go
// through azidentity, azsecrets) and to serve tokens to child processes.
// Unit tests with mocked interfaces cannot show that the real SDKs accept
// what azexec configures, and tests may not send a single packet beyond
// loopback. This package therefore answers the real HTTP protocols, over
// real TLS, on 127.0.0.1, so that unmodified SDK code (in process, in the
// built azexec binary, or in a child written in another language) can be
// pointed at it with nothing but configuration:
//
//   - the Entra ID (Azure AD) v2.0 endpoints that MSAL calls with instance
//     discovery disabled: OpenID configuration and the client_credentials
//     token endpoint, with client secrets, certificate assertions (PS256 or
//     RS256, x5t#S256 or x5t header, signature checked against the
//     registered certificate) and federated (workload identity) assertions;
//     errors carry the real AADSTS codes and JSON shape;
//   - the App Service managed identity endpoint (api-version 2019-08-01,
//     X-IDENTITY-HEADER) and an IMDS handler (Metadata: true), which tests
//     can serve on 169.254.169.254:80 inside a network namespace;
//   - Key Vault secrets with the real 401 challenge that azsecrets follows,
//     one HTTPS origin per vault, with 404/403 error bodies as Key Vault
//     writes them; a secret can be rotated while a test runs
//     (RotateSecret: a new version becomes current, the earlier ones stay
//     readable by version), and a fault can be narrowed to one secret's
//     path (Fault.Path);
//   - Resource Manager's subscription list;
//   - Azure Container Registry's token exchange (POST /oauth2/exchange, as
//     `az acr login` and docker credential helpers use it), one HTTPS
//     origin per registry;
//   - CI OIDC issuers (oidc.go): a GitHub Actions-style endpoint (GET with
//     the job's bearer token and an `audience` query, answering
//     {"value": JWT}) and an Azure DevOps-style one (POST with
//     serviceConnectionId, answering {"oidcToken": JWT}), each signing
//     short-lived RS256 ID tokens with a key of its own. The token endpoint
//     accepts such a token as a federated client assertion only when it is
//     signed by the issuer its iss names, unexpired, and its iss, sub and
//     aud equal a federated credential of the application
//     (AddFederatedCredential); otherwise AADSTS700211/700212/700213, which,
//     unlike Entra ID, also name what the application's credentials expect;
//   - fault injection (latency, status codes with Retry-After, connection
//     resets) and a request log with per-kind counters and peak
//     concurrency, so tests can assert on caching, retries and parallelism.
//
// Access tokens are JWT-shaped (RS256 header, junk signature) with the
// claims a reader would look at: aud, iss, tid, oid, appid, azp, sub, iat,
// nbf, exp and a random jti. Every token issued is remembered, so a test can
// search all output of a program for leaked tokens (IssuedTokens), and the
// fake's own Key Vault and Resource Manager accept only tokens it issued.
//
// The server's certificate comes from a CA generated at Start and written to
// CAFile; programs under test trust it through SSL_CERT_FILE (Go),
// NODE_EXTRA_CA_CERTS (Node.js) or REQUESTS_CA_BUNDLE (Python), and
// in-process clients use Client. AZURE_AUTHORITY_HOST (or a cloud
// configuration) set to URL + "/" sends the SDKs' token requests here.
//
// # What it does not model
//
// Tenants are known only by the ids registered (no domain names, "common"
// or "organizations"), and tokens' iss is <URL>/<tenant>/v2.0 rather than
// sts.windows.net. No user flows (device code, interactive,
// username/password, refresh tokens, ID tokens), no v1 token endpoint, no instance discovery, no
// token signing keys (JWKS) and no real signature on access tokens, no
// conditional access or claims challenges, no PoP tokens, no regional
// endpoints, no Key Vault keys, certificates, secret listing or writes over
// HTTP (secrets are set through the Go API), no RBAC beyond a per-vault deny
// list, no Resource Manager beyond listing and reading subscriptions, no
// registry API beyond the refresh-token exchange (no /oauth2/token, no /v2/), no
// Service Fabric, Azure Arc, Cloud Shell or Azure ML managed identity
// sources, and no throttling other than what a test injects. The request log
// never records bodies, query strings or header values.
package fakeazure
