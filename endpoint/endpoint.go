package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/singleflight"

	"github.com/crinit/crinit/supervisor"
)

// Source gives the current supervisor snapshot; supervisor.Supervisor is one.
type Source interface {
	Status() *supervisor.Status
}

// Server is crinit's endpoint.
type Server struct {
	src    Source
	limits map[string]any // the limits in force, shown in /status
	log    hclog.Logger
	http   *http.Server
	ln     net.Listener
	done   chan struct{}
	// serving is set by Serve; Serve and Shutdown are called by one
	// goroutine, one after the other.
	serving bool
	scrape  singleflight.Group // concurrent /metrics requests share a scrape
}

// Listen binds addr and prepares the endpoint for src. limits is shown as
// is in /status. Nothing is served until Serve.
func Listen(addr string, src Source, limits map[string]any, log hclog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{src: src, limits: limits, log: log, ln: ln, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/readyz", s.readyz)
	mux.HandleFunc("/status", s.status)
	mux.HandleFunc("/metrics", s.metrics)
	s.http = &http.Server{
		Handler:           readOnly(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	return s, nil
}

// Addr is the address the endpoint listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves requests in a goroutine of its own until Shutdown.
func (s *Server) Serve() {
	s.serving = true
	go func() {
		defer close(s.done)
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic recovered", "event", "endpoint", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("endpoint stopped", "error", err)
		}
	}()
}

// Shutdown stops the endpoint, waiting up to ctx for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.serving {
		return s.ln.Close()
	}
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	<-s.done
	return err
}

// readOnly answers anything but GET and HEAD with 405.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	st := s.src.Status()
	check(w, st.Live(), liveReason(st))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.src.Status()
	check(w, st.Ready(), readyReason(st))
}

// check writes 200 "ok" or 503 with the reason.
func check(w http.ResponseWriter, ok bool, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if ok {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, reason)
}

func liveReason(st *supervisor.Status) string {
	switch {
	case st.ShuttingDown:
		return "shutting down"
	case st.State == supervisor.StateBackoff:
		return "child down: waiting to restart"
	case st.Child == nil:
		return "no child running"
	}
	return "child " + string(st.State)
}

func readyReason(st *supervisor.Status) string {
	switch {
	case st.Draining:
		return "draining before shutdown"
	case st.State != supervisor.StateRunning || st.ShuttingDown:
		return liveReason(st)
	case st.Probe != nil && st.Probe.State != supervisor.ProbeHealthy:
		return "probe " + string(st.Probe.State)
	}
	return "not ready"
}

// statusDoc is the /status document.
type statusDoc struct {
	*supervisor.Status
	UptimeMS int64          `json:"child_uptime_ms,omitempty"`
	Live     bool           `json:"live"`
	Ready    bool           `json:"ready"`
	Limits   map[string]any `json:"limits"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.src.Status()
	doc := statusDoc{Status: st, Live: st.Live(), Ready: st.Ready(), Limits: s.limits}
	if f := st.InForce; f != nil { // a resize re-derives the auto sizes
		doc.Limits = make(map[string]any, len(s.limits)+2)
		maps.Copy(doc.Limits, s.limits)
		doc.Limits["rss_limit_bytes"], doc.Limits["rss_warn_bytes"] = f.RSSLimit, f.RSSWarn
		if _, ok := s.limits["max_old_space_size_mib"]; ok {
			doc.Limits["max_old_space_size_mib"] = f.HeapMiB
		}
	}
	if st.Child != nil {
		doc.UptimeMS = time.Since(st.Child.Started).Milliseconds()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}
