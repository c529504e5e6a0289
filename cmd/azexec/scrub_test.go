package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// TestScrubberEncodedForms: a secret echoed URL-encoded (either hex case)
// or JSON-escaped is masked like the secret itself.
func TestScrubberEncodedForms(t *testing.T) {
	var buf bytes.Buffer
	s := &scrubber{w: &buf}
	secret := `s3cret+/=<&>"x`
	s.Add(secret)
	for _, form := range []string{
		url.QueryEscape(secret),
		strings.ToLower(url.QueryEscape(secret)),
		url.PathEscape(secret),
		`s3cret+\/=\u003c\u0026\u003e\"x`,
	} {
		buf.Reset()
		if _, err := s.Write([]byte("echo: client_id=1&v=" + form + "&z\n")); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), form) || !strings.Contains(buf.String(), "[redacted]") {
			t.Errorf("%q not masked: %q", form, buf.String())
		}
	}
}

// TestScrubberConcurrent: Add and Write from many goroutines (run with
// -race).
func TestScrubberConcurrent(t *testing.T) {
	s := &scrubber{w: io.Discard}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				s.Add(strings.Repeat(string(rune('a'+i)), 8) + string(rune('0'+j%10)))
				_, _ = s.Write([]byte("line " + strings.Repeat("x", j) + "\n"))
			}
		})
	}
	wg.Wait()
}

// TestSDKLogScrubbedAndCut: the SDK logs a ResponseError with the whole
// body; what reaches stderr is scrubbed, then cut to 512 bytes.
func TestSDKLogScrubbedAndCut(t *testing.T) {
	var buf bytes.Buffer
	s := &scrubber{w: &buf}
	l, _, err := newLogger(s, "trace", "json")
	if err != nil {
		t.Fatal(err)
	}
	detach := routeSDKLog(l, s)
	defer detach()
	token := "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ2YXVsdCJ9." + strings.Repeat("S1g", 200)
	s.Add(token)
	body := `{"error":{"code":"Echo","message":"Authorization: Bearer ` + token + `"},"tail":"` + strings.Repeat("p", 600) + `END"}`
	req, _ := http.NewRequest(http.MethodGet, "https://v.vault.azure.net/secrets/x", nil)
	resp := &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}
	_ = runtime.NewResponseError(resp)
	out := buf.String()
	if !strings.Contains(out, "ResponseError") {
		t.Fatalf("the SDK's ResponseError event was not logged: %q", out)
	}
	for _, part := range append([]string{token}, strings.Split(token, ".")[1:]...) {
		if strings.Contains(out, part) {
			t.Errorf("the token (or a part) reached the log: %s", out)
		}
	}
	if strings.Contains(out, "END") || !strings.Contains(out, "bytes cut]") {
		t.Errorf("the body was not cut: %s", out)
	}
}
