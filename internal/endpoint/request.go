package endpoint

import (
	"net/http"
	"net/url"
	"strings"
)

// Paths and versions of the protocols (see the package comment).
const (
	appServicePath = "/msi/token"
	// msiPrefix starts MSI_ENDPOINT's path; the rest is the secret path.
	msiPrefix = "/msi/"

	appServiceVersion = "2019-08-01"
	legacyVersion     = "2017-09-01"

	headerName       = "X-Identity-Header"
	legacySecretName = "Secret"
	metadataName     = "Metadata"
)

// form is which of the protocols a request speaks.
type form int

const (
	formAppService form = iota + 1 // 2019-08-01, IDENTITY_ENDPOINT
	formCloudShell                 // POST to MSI_ENDPOINT
	formLegacy                     // 2017-09-01 GET to MSI_ENDPOINT
)

func (f form) String() string {
	switch f {
	case formAppService:
		return "app-service"
	case formCloudShell:
		return "cloud-shell"
	case formLegacy:
		return "app-service-2017"
	}
	return "unknown"
}

// tokenRequest is a parsed, validated request.
type tokenRequest struct {
	// resource is canonical (CanonicalResource): the one string both
	// checked against the allow list and asked for.
	resource string
	// selectors holds each identity selector the request names
	// (client_id, object_id, ...), with its value; present but empty
	// counts.
	selectors map[string]string
}

// errorReply is an HTTP status with a message for the caller.
type errorReply struct {
	status int
	msg    string
}

func (r *errorReply) Error() string { return r.msg }

// identitySelectors are the parameters by which a managed identity request
// names a user-assigned identity. Each names another identity unless it
// names exactly the one azexec serves; mi_res_id and its older spelling
// msi_res_id are never answered, since azexec does not know its identity's
// resource ID. clientid is the 2017-09-01 (and Azure ML) spelling of
// client_id.
var identitySelectors = []string{"client_id", "clientid", "object_id", "principal_id", "mi_res_id", "msi_res_id"}

// singleParams are the parameters azexec reads; each may appear once, so
// that no two readers of one request can see different values.
var singleParams = append([]string{"api-version", "resource"}, identitySelectors...)

// parseParams checks one request's parameters (a query, or a Cloud Shell
// form body). version is the api-version the form requires; "" means the
// form has none, and any given is ignored. It is a pure function of its
// input so it can be fuzzed.
func parseParams(raw, version string) (tokenRequest, error) {
	// url.URL.Query drops malformed pairs silently; a request azexec
	// cannot read exactly is refused instead.
	query, err := url.ParseQuery(raw)
	if err != nil {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, "the query is malformed"}
	}
	for _, k := range singleParams {
		if len(query[k]) > 1 {
			return tokenRequest{}, &errorReply{http.StatusBadRequest, "the " + k + " parameter is given more than once"}
		}
	}
	// Azure's own endpoints read parameter names without regard to case,
	// so Client_Id must not slip past as an unknown parameter.
	for k := range query {
		for _, p := range singleParams {
			if k != p && strings.EqualFold(k, p) {
				return tokenRequest{}, &errorReply{http.StatusBadRequest, "the " + p + " parameter must be written in lower case"}
			}
		}
	}
	if version != "" && query.Get("api-version") != version {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, "api-version must be " + version}
	}
	if _, ok := query["resource"]; !ok {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, "the resource parameter is required"}
	}
	res, err := CanonicalResource(query.Get("resource"))
	if err != nil {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, err.Error()}
	}
	r := tokenRequest{resource: res}
	for _, k := range identitySelectors {
		if v, ok := query[k]; ok {
			if r.selectors == nil {
				r.selectors = make(map[string]string)
			}
			r.selectors[k] = v[0]
		}
	}
	return r, nil
}

// parseTokenRequest checks the App Service 2019-08-01 request line. It is
// a pure function so it can be fuzzed.
func parseTokenRequest(method, path, rawQuery string) (tokenRequest, error) {
	if path != appServicePath {
		return tokenRequest{}, &errorReply{http.StatusNotFound, "not found"}
	}
	if method != http.MethodGet {
		return tokenRequest{}, &errorReply{http.StatusMethodNotAllowed, "only GET is supported"}
	}
	return parseParams(rawQuery, appServiceVersion)
}

// parseMSIRequest checks a request that reached MSI_ENDPOINT's secret
// path: a Cloud Shell POST with its form in body, or a 2017-09-01 GET.
// The caller has checked the path and, for the GET, the secret header.
func parseMSIRequest(method, rawQuery, contentType, metadata, body string) (form, tokenRequest, error) {
	switch method {
	case http.MethodPost:
		if !strings.EqualFold(metadata, "true") {
			return formCloudShell, tokenRequest{}, &errorReply{http.StatusBadRequest, "the Metadata: true header is required"}
		}
		if mt, _, _ := strings.Cut(contentType, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded") {
			return formCloudShell, tokenRequest{}, &errorReply{http.StatusUnsupportedMediaType, "the body must be a form (application/x-www-form-urlencoded)"}
		}
		if rawQuery != "" {
			// One place for the parameters: a query beside the form could
			// say something else than what was checked.
			return formCloudShell, tokenRequest{}, &errorReply{http.StatusBadRequest, "parameters go in the form body, not the query"}
		}
		r, err := parseParams(body, "")
		return formCloudShell, r, err
	case http.MethodGet:
		r, err := parseParams(rawQuery, legacyVersion)
		return formLegacy, r, err
	}
	return 0, tokenRequest{}, &errorReply{http.StatusMethodNotAllowed, "only GET and POST are supported"}
}
