package endpoint

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/supervisor"
)

// fakeSource publishes the Status a test sets, as the supervisor does.
type fakeSource struct {
	st    atomic.Pointer[supervisor.Status]
	calls atomic.Int64
}

func (f *fakeSource) Status() *supervisor.Status {
	f.calls.Add(1)
	return f.st.Load()
}

func (f *fakeSource) set(st *supervisor.Status) { f.st.Store(st) }

// endpoint is a served endpoint and a client that keeps no connection.
type endpoint struct {
	src    *fakeSource
	srv    *Server
	base   string // http://127.0.0.1:PORT
	client *http.Client
}

// serve starts an endpoint on a free loopback port for st, shut down when
// the test ends.
func serve(t *testing.T, st *supervisor.Status, lim map[string]any) *endpoint {
	t.Helper()
	src := &fakeSource{}
	src.set(st)
	srv, err := Listen("127.0.0.1:0", src, lim, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &endpoint{
		src:    src,
		srv:    srv,
		base:   "http://" + srv.Addr().String(),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}},
	}
}

// response is what one request got.
type response struct {
	code   int
	header http.Header
	body   string
}

func (e *endpoint) do(t *testing.T, method, path string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

// Statuses the supervisor publishes.
func running() *supervisor.Status {
	return &supervisor.Status{State: supervisor.StateRunning, Starts: 1,
		Child: &supervisor.ChildStatus{PID: 42, Started: time.Now().Add(-time.Minute)}}
}

func with(st *supervisor.Status, f func(*supervisor.Status)) *supervisor.Status {
	f(st)
	return st
}

func backoff() *supervisor.Status {
	return &supervisor.Status{State: supervisor.StateBackoff, Starts: 2}
}

func probeState(state supervisor.ProbeState) *supervisor.ProbeStatus {
	return &supervisor.ProbeStatus{Target: "http://127.0.0.1:4000/healthz", State: state}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name     string
		st       *supervisor.Status
		wantCode int
		wantBody string
	}{
		{"running", running(), 200, "ok"},
		{"running, probe unhealthy", with(running(), func(s *supervisor.Status) { s.Probe = probeState("unhealthy") }), 200, "ok"},
		{"running, draining", with(running(), func(s *supervisor.Status) { s.Draining = true }), 200, "ok"},
		{"stopping a child", with(running(), func(s *supervisor.Status) { s.State = supervisor.StateStopping }), 200, "ok"},
		{"backoff", backoff(), 503, "child down: waiting to restart"},
		{"shutting down", with(running(), func(s *supervisor.Status) { s.ShuttingDown = true }), 503, "shutting down"},
		{"shutting down, stopping", with(running(), func(s *supervisor.Status) {
			s.ShuttingDown, s.State = true, supervisor.StateStopping
		}), 503, "shutting down"},
		{"no child", with(running(), func(s *supervisor.Status) { s.Child = nil }), 503, "no child running"},
		{"starting", &supervisor.Status{State: supervisor.StateStarting}, 503, "no child running"},
		{"done", &supervisor.Status{State: supervisor.StateDone}, 503, "no child running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := serve(t, tt.st, nil)
			r := e.do(t, http.MethodGet, "/healthz")
			if r.code != tt.wantCode || strings.TrimSpace(r.body) != tt.wantBody {
				t.Errorf("GET /healthz = %d %q, want %d %q", r.code, r.body, tt.wantCode, tt.wantBody)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			h := e.do(t, http.MethodHead, "/healthz")
			if h.code != tt.wantCode || h.body != "" {
				t.Errorf("HEAD /healthz = %d %q, want %d and no body", h.code, h.body, tt.wantCode)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name     string
		st       *supervisor.Status
		wantCode int
		wantBody string
	}{
		{"running, no probe", running(), 200, "ok"},
		{"running, probe healthy", with(running(), func(s *supervisor.Status) { s.Probe = probeState("healthy") }), 200, "ok"},
		{"draining", with(running(), func(s *supervisor.Status) { s.Draining = true }), 503, "draining before shutdown"},
		{"draining, probe healthy", with(running(), func(s *supervisor.Status) {
			s.Draining, s.Probe = true, probeState("healthy")
		}), 503, "draining before shutdown"},
		{"probe starting", with(running(), func(s *supervisor.Status) { s.Probe = probeState("starting") }), 503, "probe starting"},
		{"probe unhealthy", with(running(), func(s *supervisor.Status) { s.Probe = probeState("unhealthy") }), 503, "probe unhealthy"},
		{"backoff", backoff(), 503, "child down: waiting to restart"},
		{"backoff, probe starting", with(backoff(), func(s *supervisor.Status) { s.Probe = probeState("starting") }), 503, "child down: waiting to restart"},
		{"shutting down", with(running(), func(s *supervisor.Status) { s.ShuttingDown = true }), 503, "shutting down"},
		{"stopping for a restart", with(running(), func(s *supervisor.Status) { s.State = supervisor.StateStopping }), 503, "child stopping"},
		{"starting", &supervisor.Status{State: supervisor.StateStarting}, 503, "no child running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := serve(t, tt.st, nil)
			r := e.do(t, http.MethodGet, "/readyz")
			if r.code != tt.wantCode || strings.TrimSpace(r.body) != tt.wantBody {
				t.Errorf("GET /readyz = %d %q, want %d %q", r.code, r.body, tt.wantCode, tt.wantBody)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			h := e.do(t, http.MethodHead, "/readyz")
			if h.code != tt.wantCode || h.body != "" {
				t.Errorf("HEAD /readyz = %d %q, want %d and no body", h.code, h.body, tt.wantCode)
			}
		})
	}
}

// TestReadyz_RunningWithoutChild: a snapshot that says running but has no
// child (the child has exited and the loop has not moved on, as after a
// panic recovered in the middle of handling the exit) must not be ready
// while /healthz says the child is down.
func TestReadyz_RunningWithoutChild(t *testing.T) {
	e := serve(t, with(running(), func(s *supervisor.Status) { s.Child = nil }), nil)
	if r := e.do(t, http.MethodGet, "/healthz"); r.code != 503 {
		t.Fatalf("GET /healthz = %d %q, want 503", r.code, r.body)
	}
	if r := e.do(t, http.MethodGet, "/readyz"); r.code != 503 {
		t.Errorf("GET /readyz = %d %q with no child, want 503: ready but not live", r.code, r.body)
	}
}

func TestEndpoint_ReadOnly(t *testing.T) {
	e := serve(t, running(), nil)
	for _, path := range []string{"/healthz", "/readyz", "/status", "/metrics"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			t.Run(method+" "+path, func(t *testing.T) {
				before := e.src.calls.Load()
				r := e.do(t, method, path)
				if r.code != http.StatusMethodNotAllowed {
					t.Errorf("%s %s = %d, want 405", method, path, r.code)
				}
				if allow := r.header.Get("Allow"); allow != "GET, HEAD" {
					t.Errorf("Allow = %q, want %q", allow, "GET, HEAD")
				}
				if n := e.src.calls.Load() - before; n != 0 {
					t.Errorf("the snapshot was read %d times for a refused request", n)
				}
			})
		}
	}
}

func TestEndpoint_UnknownPath(t *testing.T) {
	e := serve(t, running(), nil)
	if r := e.do(t, http.MethodGet, "/nope"); r.code != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", r.code)
	}
}

// statusJSON is the part of the /status document the tests read.
type statusJSON struct {
	State    string          `json:"state"`
	Live     *bool           `json:"live"`
	Ready    *bool           `json:"ready"`
	Limits   map[string]any  `json:"limits"`
	UptimeMS *int64          `json:"child_uptime_ms"`
	Child    json.RawMessage `json:"child"`
	Probe    json.RawMessage `json:"probe"`
	Starts   int             `json:"starts"`
}

func getStatus(t *testing.T, e *endpoint) (statusJSON, map[string]any) {
	t.Helper()
	r := e.do(t, http.MethodGet, "/status")
	if r.code != 200 {
		t.Fatalf("GET /status = %d %q", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var doc statusJSON
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("/status is not JSON: %v\n%s", err, r.body)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

func TestStatus(t *testing.T) {
	lim := map[string]any{"nofile": 8192, "rss_limit_bytes": 314572800, "restart": "on-failure"}
	st := with(running(), func(s *supervisor.Status) {
		s.Probe = &supervisor.ProbeStatus{Target: "http://127.0.0.1:4000/healthz", State: "healthy",
			Count: 7, DurationSum: 3 * time.Second}
	})
	e := serve(t, st, lim)
	doc, raw := getStatus(t, e)
	if doc.State != "running" || doc.Starts != 1 {
		t.Errorf("state %q, starts %d; want running, 1", doc.State, doc.Starts)
	}
	if doc.Live == nil || !*doc.Live || doc.Ready == nil || !*doc.Ready {
		t.Errorf("live %v, ready %v; want both true", doc.Live, doc.Ready)
	}
	want := map[string]any{"nofile": 8192.0, "rss_limit_bytes": 314572800.0, "restart": "on-failure"}
	if !reflect.DeepEqual(doc.Limits, want) {
		t.Errorf("limits = %v, want %v", doc.Limits, want)
	}
	if doc.UptimeMS == nil || *doc.UptimeMS < time.Minute.Milliseconds() || *doc.UptimeMS > time.Hour.Milliseconds() {
		t.Errorf("child_uptime_ms = %v, want about a minute", doc.UptimeMS)
	}
	var child map[string]any
	if err := json.Unmarshal(doc.Child, &child); err != nil || child == nil {
		t.Fatalf("child = %s: %v", doc.Child, err)
	}
	if child["pid"] != 42.0 {
		t.Errorf("child pid = %v, want 42", child["pid"])
	}
	if _, ok := child["argv"]; ok {
		t.Errorf("child shows argv %v though Status.Child.Argv is unset", child["argv"])
	}
	var probe map[string]any
	if err := json.Unmarshal(doc.Probe, &probe); err != nil {
		t.Fatal(err)
	}
	if probe["state"] != "healthy" || probe["probes_total"] != 7.0 {
		t.Errorf("probe = %v, want state healthy, probes_total 7", probe)
	}
	for _, k := range []string{"state", "shutting_down", "draining", "child", "starts", "exits_by_reason", "restarts_by_reason", "live", "ready", "limits"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/status has no %q", k)
		}
	}
}

func TestStatus_Argv(t *testing.T) {
	e := serve(t, with(running(), func(s *supervisor.Status) {
		s.Child.Argv = []string{"node", "--max-old-space-size=256", "server.js"}
	}), nil)
	doc, _ := getStatus(t, e)
	var child struct {
		Argv []string `json:"argv"`
	}
	if err := json.Unmarshal(doc.Child, &child); err != nil {
		t.Fatal(err)
	}
	if want := []string{"node", "--max-old-space-size=256", "server.js"}; !reflect.DeepEqual(child.Argv, want) {
		t.Errorf("argv = %q, want %q", child.Argv, want)
	}
}

func TestStatus_NoChild(t *testing.T) {
	e := serve(t, with(backoff(), func(s *supervisor.Status) {
		s.LastExit = &supervisor.ExitStatus{PID: 42, Code: 137, Signal: "SIGKILL", Reason: supervisor.ReasonOOMKill}
	}), nil)
	doc, raw := getStatus(t, e)
	if doc.Live == nil || *doc.Live || doc.Ready == nil || *doc.Ready {
		t.Errorf("live %v, ready %v; want both false", doc.Live, doc.Ready)
	}
	if string(doc.Child) != "null" {
		t.Errorf("child = %s, want null", doc.Child)
	}
	if doc.UptimeMS != nil {
		t.Errorf("child_uptime_ms = %d with no child", *doc.UptimeMS)
	}
	last, _ := raw["last_exit"].(map[string]any)
	if last["reason"] != "oom_kill" || last["exit_code"] != 137.0 || last["signal"] != "SIGKILL" {
		t.Errorf("last_exit = %v", raw["last_exit"])
	}
}

// scrape parses /metrics in the Prometheus text format.
func scrape(t *testing.T, e *endpoint) map[string]*dto.MetricFamily {
	t.Helper()
	r := e.do(t, http.MethodGet, "/metrics")
	if r.code != 200 {
		t.Fatalf("GET /metrics = %d %q", r.code, r.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, r.body)
	}
	return mfs
}

// value is the value of name's sample with the given labels (name=value
// pairs), failing the test when there is none.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Errorf("no metric %s", name)
		return math.NaN()
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_UNTYPED:
			return m.GetUntyped().GetValue()
		}
		t.Errorf("%s is a %v, not a gauge or counter", name, mf.GetType())
		return math.NaN()
	}
	t.Errorf("no %s%v", name, labels)
	return math.NaN()
}

func hasLabels(m *dto.Metric, labels []string) bool {
	if len(m.GetLabel())*2 != len(labels) {
		return false
	}
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestMetrics(t *testing.T) {
	st := with(running(), func(s *supervisor.Status) {
		s.Starts = 5
		s.RestartsInWindow = 2
		s.ExitsByReason = map[supervisor.Reason]int64{supervisor.ReasonExit: 3, supervisor.ReasonProbe: 2, supervisor.ReasonOOMKill: 1}
		s.RestartsByReason = map[supervisor.Reason]int64{supervisor.ReasonExit: 1, supervisor.ReasonProbe: 2, supervisor.ReasonOOMKill: 1}
		s.OrphansReaped = 7
		s.Tree = &supervisor.TreeStatus{Processes: 3, RSSBytes: 123456789, FDs: 42, MaxFDs: 30}
		s.Children = []supervisor.ChildStatus{{Generation: 4, Phase: supervisor.PhaseRunning, RSSBytes: 100 << 20},
			{Generation: 5, Phase: supervisor.PhaseStarting, RSSBytes: 20 << 20}}
		s.Cgroup = &cgroup.Memory{Limit: 512 << 20, Usage: 100 << 20, OOMKills: 1}
		s.Probe = &supervisor.ProbeStatus{State: "healthy", Count: 10, FailuresTotal: 4, DurationSum: 1500 * time.Millisecond}
	})
	e := serve(t, st, nil)
	mfs := scrape(t, e)

	tests := []struct {
		name   string
		labels []string
		want   float64
		typ    dto.MetricType
	}{
		{"crinit_child_up", nil, 1, dto.MetricType_GAUGE},
		{"crinit_child_rss_bytes", nil, 123456789, dto.MetricType_GAUGE},
		{"crinit_child_open_fds", nil, 42, dto.MetricType_GAUGE},
		{"crinit_child_processes", nil, 3, dto.MetricType_GAUGE},
		{"crinit_restarts_in_window", nil, 2, dto.MetricType_GAUGE},
		{"crinit_child_starts_total", nil, 5, dto.MetricType_COUNTER},
		{"crinit_child_exits_total", []string{"reason", "exit"}, 3, dto.MetricType_COUNTER},
		{"crinit_child_exits_total", []string{"reason", "probe"}, 2, dto.MetricType_COUNTER},
		{"crinit_child_exits_total", []string{"reason", "oom_kill"}, 1, dto.MetricType_COUNTER},
		{"crinit_child_exits_total", []string{"reason", "signal"}, 0, dto.MetricType_COUNTER},
		{"crinit_child_exits_total", []string{"reason", "shutdown"}, 0, dto.MetricType_COUNTER},
		{"crinit_restarts_total", []string{"reason", "probe"}, 2, dto.MetricType_COUNTER},
		{"crinit_restarts_total", []string{"reason", "exit"}, 1, dto.MetricType_COUNTER},
		{"crinit_restarts_total", []string{"reason", "oom_kill"}, 1, dto.MetricType_COUNTER},
		{"crinit_restarts_total", []string{"reason", "rss_limit"}, 0, dto.MetricType_COUNTER},
		{"crinit_oom_kills_total", nil, 1, dto.MetricType_COUNTER},
		{"crinit_zombies_reaped_total", nil, 7, dto.MetricType_COUNTER},
		{"crinit_probe_failures_total", nil, 4, dto.MetricType_COUNTER},
		{"crinit_probe_healthy", nil, 1, dto.MetricType_GAUGE},
		{"crinit_cgroup_memory_usage_bytes", nil, 100 << 20, dto.MetricType_GAUGE},
		{"crinit_cgroup_memory_limit_bytes", nil, 512 << 20, dto.MetricType_GAUGE},
		{"crinit_cgroup_oom_kills", nil, 1, dto.MetricType_GAUGE},
		{"crinit_child_generation_rss_bytes", []string{"generation", "4", "phase", "running"}, 100 << 20, dto.MetricType_GAUGE},
		{"crinit_child_generation_rss_bytes", []string{"generation", "5", "phase", "starting"}, 20 << 20, dto.MetricType_GAUGE},
	}
	for _, tt := range tests {
		if got := value(t, mfs, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
		if mf := mfs[tt.name]; mf != nil && mf.GetType() != tt.typ {
			t.Errorf("%s is a %v, want %v", tt.name, mf.GetType(), tt.typ)
		}
	}
	// Every reason appears, so that rate() works from the first scrape;
	// shutdown is not a restart reason.
	if n, want := len(mfs["crinit_child_exits_total"].GetMetric()), len(supervisor.Reasons()); n != want {
		t.Errorf("crinit_child_exits_total has %d reasons, want %d", n, want)
	}
	for _, m := range mfs["crinit_restarts_total"].GetMetric() {
		if hasLabels(m, []string{"reason", "shutdown"}) {
			t.Error("crinit_restarts_total has a shutdown reason")
		}
	}
	if n, want := len(mfs["crinit_restarts_total"].GetMetric()), len(supervisor.Reasons())-1; n != want {
		t.Errorf("crinit_restarts_total has %d reasons, want %d", n, want)
	}

	dur := mfs["crinit_probe_duration_seconds"]
	if dur == nil || dur.GetType() != dto.MetricType_SUMMARY || len(dur.GetMetric()) != 1 {
		t.Fatalf("crinit_probe_duration_seconds = %v, want one summary", dur)
	}
	if s := dur.GetMetric()[0].GetSummary(); s.GetSampleCount() != 10 || s.GetSampleSum() != 1.5 {
		t.Errorf("crinit_probe_duration_seconds count %d sum %v, want 10 and 1.5", s.GetSampleCount(), s.GetSampleSum())
	}
	if g := value(t, mfs, "go_goroutines"); !(g >= 1) {
		t.Errorf("go_goroutines = %v, want at least 1", g)
	}
	if _, ok := mfs["process_resident_memory_bytes"]; !ok {
		t.Error("no process_resident_memory_bytes: the process collector is missing")
	}
}

func TestMetrics_Sparse(t *testing.T) {
	// Between children: no tree, no probe state, no cgroup.
	e := serve(t, backoff(), nil)
	mfs := scrape(t, e)
	if got := value(t, mfs, "crinit_child_up"); got != 0 {
		t.Errorf("crinit_child_up = %v, want 0", got)
	}
	if got := value(t, mfs, "crinit_child_starts_total"); got != 2 {
		t.Errorf("crinit_child_starts_total = %v, want 2", got)
	}
	if got := value(t, mfs, "crinit_restarts_total", "reason", "probe"); got != 0 {
		t.Errorf("crinit_restarts_total{reason=probe} = %v, want 0", got)
	}
	for _, name := range []string{"crinit_child_rss_bytes", "crinit_child_open_fds", "crinit_child_processes",
		"crinit_probe_duration_seconds", "crinit_probe_failures_total", "crinit_probe_healthy",
		"crinit_cgroup_memory_usage_bytes", "crinit_cgroup_memory_limit_bytes", "crinit_cgroup_oom_kills"} {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s shown with nothing to measure", name)
		}
	}

	// A failing probe.
	e.src.set(with(running(), func(s *supervisor.Status) { s.Probe = probeState("unhealthy") }))
	mfs = scrape(t, e)
	if got := value(t, mfs, "crinit_probe_healthy"); got != 0 {
		t.Errorf("crinit_probe_healthy = %v with the probe unhealthy, want 0", got)
	}
	if got := value(t, mfs, "crinit_child_up"); got != 1 {
		t.Errorf("crinit_child_up = %v, want 1", got)
	}
}

func TestListen_AddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	srv, err := Listen(addr, &fakeSource{}, nil, hclog.NewNullLogger())
	if err == nil {
		srv.Serve()
		_ = srv.Shutdown(context.Background())
		t.Fatalf("Listen(%s) on an address in use succeeded", addr)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
}

func TestListen_BadAddress(t *testing.T) {
	if srv, err := Listen("nope", &fakeSource{}, nil, hclog.NewNullLogger()); err == nil {
		srv.Serve()
		_ = srv.Shutdown(context.Background())
		t.Fatal("Listen(nope) succeeded")
	} else if !strings.Contains(err.Error(), "nope") {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestServer_Shutdown(t *testing.T) {
	src := &fakeSource{}
	src.set(running())
	srv, err := Listen("127.0.0.1:0", src, nil, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("Addr() = %s, want the bound port", addr)
	}
	srv.Serve()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := client.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("the endpoint still answers after Shutdown")
	}
}
