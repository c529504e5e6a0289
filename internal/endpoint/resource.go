package endpoint

import (
	"strings"
)

// maxResourceLen bounds a requested resource; real ones are far shorter.
const maxResourceLen = 512

// resourceError says why a resource is not canonical. Its text never
// quotes the resource: the endpoint answers it to the caller and logs it.
type resourceError struct{ reason string }

func (e *resourceError) Error() string { return e.reason }

// Reasons a resource is refused.
const (
	resEmpty     = "the resource is empty"
	resTooLong   = "the resource is longer than 512 bytes"
	resChars     = "the resource may hold only ASCII letters, digits and - . _ ~ : /"
	resForm      = "the resource must be a URL such as https://management.azure.com/ or an application ID"
	resCase      = "the resource's scheme, host and application ID must be lower case"
	resHost      = "the resource's host must be a DNS name without a port, user or trailing dot"
	resPath      = "the resource's path has an empty, . or .. segment"
	resScopeForm = "the resource is a resource, not a scope: drop /.default"
)

// CanonicalResource checks that r, a resource as a client names it, is in
// the one canonical form azexec accepts, and returns it unchanged; a
// resource that is not canonical is an error, never rewritten. The
// identity endpoint compares exactly this string with --allow-scope and
// asks for a token for exactly this string (plus "/.default"), so what is
// checked is what is sent: no trimming, case folding or decoding happens in
// between that an attacker could use to pass the check with one resource
// and get a token for another.
//
// Canonical is:
//   - an application ID: a GUID in lower case; or
//   - scheme://host[/path]: a lower-case scheme of letters and digits, a
//     lower-case DNS host (letters, digits, '-', non-empty labels, no
//     trailing dot, no port, no user), and a path of non-empty segments
//     other than ".", ".." and ".default", with at most one trailing slash
//     (az sends https://management.core.windows.net/).
//
// Every byte is an ASCII letter, digit or one of - . _ ~ : /, so white
// space of any kind, control characters, non-ASCII text, percent escapes,
// queries, fragments and quotes are all refused. A scope (a resource
// followed by /.default) is refused too: the App Service protocol carries
// resources, and every SDK strips /.default before asking.
func CanonicalResource(r string) (string, error) {
	switch {
	case r == "":
		return "", &resourceError{resEmpty}
	case len(r) > maxResourceLen:
		return "", &resourceError{resTooLong}
	}
	for i := 0; i < len(r); i++ {
		if !isResourceByte(r[i]) {
			return "", &resourceError{resChars}
		}
	}
	scheme, rest, isURL := strings.Cut(r, "://")
	if !isURL {
		if !isGUID(strings.ToLower(r)) {
			return "", &resourceError{resForm}
		}
		if r != strings.ToLower(r) {
			return "", &resourceError{resCase}
		}
		return r, nil
	}
	if err := checkScheme(scheme); err != nil {
		return "", err
	}
	host, path, _ := strings.Cut(rest, "/")
	if err := checkHost(host); err != nil {
		return "", err
	}
	if err := checkResourcePath(path); err != nil {
		return "", err
	}
	return r, nil
}

// isResourceByte reports the bytes a canonical resource is made of.
func isResourceByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/", c) >= 0
}

// checkScheme accepts a lower-case scheme of letters and digits.
func checkScheme(s string) error {
	if s == "" || !isLetter(s[0]) {
		return &resourceError{resForm}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			return &resourceError{resCase}
		case !isLetter(c) && !isDigit(c):
			return &resourceError{resForm}
		}
	}
	return nil
}

// checkHost accepts a lower-case DNS name: labels of letters, digits and
// '-', none empty, so no port, no user and no trailing dot.
func checkHost(h string) error {
	if h == "" {
		return &resourceError{resForm}
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return &resourceError{resHost}
		}
		for i := 0; i < len(label); i++ {
			switch c := label[i]; {
			case 'A' <= c && c <= 'Z':
				return &resourceError{resCase}
			case !isLetter(c) && !isDigit(c) && c != '-':
				return &resourceError{resHost}
			}
		}
	}
	return nil
}

// checkResourcePath accepts the part after the host's slash: non-empty segments,
// none "." or "..", optionally ended by one slash; a ".default" segment
// makes the resource a scope.
func checkResourcePath(p string) error {
	if p == "" {
		return nil
	}
	if p = strings.TrimSuffix(p, "/"); p == "" {
		return &resourceError{resPath}
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return &resourceError{resPath}
		case strings.EqualFold(seg, ".default"):
			return &resourceError{resScopeForm}
		}
	}
	return nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// isGUID reports a GUID in lower case: 8-4-4-4-12 hex digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isDigit(s[i]) && !('a' <= s[i] && s[i] <= 'f') {
				return false
			}
		}
	}
	return true
}

// resourceScope is the scope azexec asks its credential for on behalf of a
// canonical resource: the resource as sent, plus "/.default", as az and
// MSAL form it (so https://management.core.windows.net/ becomes
// https://management.core.windows.net//.default, whose token has the
// audience the client asked for).
func resourceScope(canonical string) string { return canonical + "/.default" }

// AllowedResource turns one --allow-scope value, as providers.Scope
// returns it (a resource, or a resource followed by /.default), into the
// canonical resource the endpoint compares requests with. A value that is
// not canonical is an error: matching it loosely would let variants
// through.
func AllowedResource(scope string) (string, error) {
	return CanonicalResource(strings.TrimSuffix(scope, "/.default"))
}

// sameResource reports whether a requested canonical resource is the
// allowed one. Both are canonical, so they compare byte for byte, except
// that a resource and the same with one trailing slash are one resource
// (Entra ID issues both for the same application; az asks with the slash,
// the SDKs without).
func sameResource(requested, allowed string) bool {
	return strings.TrimSuffix(requested, "/") == strings.TrimSuffix(allowed, "/")
}

// sameID reports whether a client_id, object_id or principal_id names the
// identity whose ID is own: GUIDs compare without regard to ASCII case.
// Only ASCII counts (strings.EqualFold would also fold U+212A KELVIN SIGN
// into 'k'), and an unknown own ID matches nothing.
func sameID(given, own string) bool {
	if own == "" || len(given) != len(own) {
		return false
	}
	for i := 0; i < len(given); i++ {
		a, b := given[i], own[i]
		if a >= 0x80 || b >= 0x80 {
			return false
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
