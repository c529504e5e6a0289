package webhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Server is the webhook's HTTPS endpoint: /mutate for pods that opt in by
// annotation, /mutate/namespace for pods of namespaces that opt in by
// label, /healthz (the process is up) and /readyz (it serves admissions;
// false once it is shutting down).
type Server struct {
	Options Options
	Certs   *CertFiles
	Log     hclog.Logger
	// ShutdownGrace bounds how long in-flight admissions may finish after
	// TERM.
	ShutdownGrace time.Duration

	stopping atomic.Bool
}

// Handler returns the routes, for Serve and for tests.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /mutate", func(w http.ResponseWriter, r *http.Request) { s.mutate(w, r, false) })
	mux.HandleFunc("POST /mutate/namespace", func(w http.ResponseWriter, r *http.Request) { s.mutate(w, r, true) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.stopping.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}

// Serve serves on l until ctx ends, then stops taking new connections,
// lets admissions in flight finish within ShutdownGrace, and returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         &tls.Config{GetCertificate: s.Certs.GetCertificate, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          s.Log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, "", "") }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	grace := s.ShutdownGrace
	if grace <= 0 {
		grace = 20 * time.Second
	}
	s.Log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// mutate answers one AdmissionReview and logs one line about it, with
// names and the decision, never a value of the pod.
func (s *Server) mutate(w http.ResponseWriter, r *http.Request, namespaceOptIn bool) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxReviewBytes+1))
	if err != nil {
		http.Error(w, "reading the request", http.StatusBadRequest)
		return
	}
	rev, err := decodeReview(body)
	if err != nil {
		s.Log.Warn("bad admission review", "error", err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := admit(r.Context(), &s.Options, rev.Request, namespaceOptIn)
	answer, err := json.Marshal(review{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Response: &out.resp})
	if err != nil {
		http.Error(w, "encoding the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer)
	fields := []any{"namespace", rev.Request.Namespace, "pod", out.pod, "containers", describe(out.changed),
		"decision", out.decision, "took", time.Since(start).Round(time.Microsecond)}
	if out.reason != "" {
		fields = append(fields, "reason", out.reason)
	}
	s.Log.Info("admission", fields...)
}
