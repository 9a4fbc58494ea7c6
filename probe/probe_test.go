package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wait bounds how long a test waits for an event that should come at
// once; reaching it is a failure, never the normal path.
const wait = 10 * time.Second

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in         string
		wantScheme string
		wantHost   string
		wantErr    string // part of the error; "" means no error
	}{
		{"http://127.0.0.1:4000/healthz", "http", "127.0.0.1:4000", ""},
		{"http://localhost/", "http", "localhost", ""},
		{"https://app.internal:8443/ready?deep=1", "https", "app.internal:8443", ""},
		{"http://[::1]:4000/healthz", "http", "[::1]:4000", ""},
		{"tcp://127.0.0.1:5432", "tcp", "127.0.0.1:5432", ""},
		{"tcp://db:5432/", "tcp", "db:5432", ""},
		{"tcp://[::1]:6379", "tcp", "[::1]:6379", ""},

		{"ftp://x", "", "", "want http://, https:// or tcp://"},
		{"ftp://x:21/", "", "", "want http://, https:// or tcp://"},
		{"http://", "", "", "needs a host"},
		{"https://", "", "", "needs a host"},
		{"http:///healthz", "", "", "needs a host"},
		{"tcp://host", "", "", "tcp://host:port"},
		{"tcp://host:", "", "", "tcp://host:port"},
		{"tcp://h:1/path", "", "", "tcp://host:port"},
		{"garbage", "", "", "want http://, https:// or tcp://"},
		{"127.0.0.1:4000", "", "", ""}, // an error of some kind: no scheme
		{"", "", "", "want http://, https:// or tcp://"},
		{"http://[::1", "", "", "not a URL"},
		{"://x", "", "", "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantScheme == "" {
				if err == nil {
					t.Fatalf("ParseTarget(%q) = %v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseTarget(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tt.in, err)
			}
			if got.URL.Scheme != tt.wantScheme || got.URL.Host != tt.wantHost {
				t.Errorf("ParseTarget(%q) = scheme %q host %q, want %q %q", tt.in, got.URL.Scheme, got.URL.Host, tt.wantScheme, tt.wantHost)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestTarget_String_MasksPassword(t *testing.T) {
	for _, in := range []string{"http://u:secret@h/", "https://admin:secret@h:8443/healthz"} {
		t.Run(in, func(t *testing.T) {
			tg, err := ParseTarget(in)
			if err != nil {
				t.Fatal(err)
			}
			s := tg.String()
			if strings.Contains(s, "secret") {
				t.Errorf("String() = %q shows the password", s)
			}
			if !strings.Contains(s, "@h") {
				t.Errorf("String() = %q lost the host", s)
			}
			if tg.URL.String() != in {
				t.Errorf("URL = %q, want %q: masking must not change the target", tg.URL, in)
			}
		})
	}
}

// target parses s or fails the test.
func target(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatalf("ParseTarget(%q): %v", s, err)
	}
	return tg
}

// freePort returns an address nothing listens on: bound, then closed.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestProber_Probe_HTTP(t *testing.T) {
	var redirectHits atomic.Int32
	var userAgent atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/200", func(w http.ResponseWriter, r *http.Request) {
		userAgent.Store(r.UserAgent())
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/302", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/redirected", http.StatusFound)
	})
	mux.HandleFunc("/redirected", func(w http.ResponseWriter, r *http.Request) {
		redirectHits.Add(1)
		w.WriteHeader(http.StatusInternalServerError) // fails the probe if followed
	})
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		// Far more than the probe reads: it must stop reading and close.
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		path       string
		wantOK     bool
		wantStatus int
		wantCause  string
	}{
		{"/200", true, 200, ""},
		{"/204", true, 204, ""},
		{"/302", true, 302, ""},
		{"/404", false, 404, CauseStatus},
		{"/500", false, 500, CauseStatus},
		{"/big", true, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := NewProber(target(t, srv.URL+tt.path), 5*time.Second)
			before := time.Now()
			r := p.Probe(context.Background())
			if r.OK != tt.wantOK || r.Status != tt.wantStatus || r.Cause != tt.wantCause {
				t.Errorf("Probe(%s) = OK %v, Status %d, Cause %q (err %v); want %v, %d, %q",
					tt.path, r.OK, r.Status, r.Cause, r.Err, tt.wantOK, tt.wantStatus, tt.wantCause)
			}
			if (r.Err == nil) != tt.wantOK {
				t.Errorf("Err = %v with OK %v", r.Err, r.OK)
			}
			if r.Start.Before(before) || r.Start.After(time.Now()) {
				t.Errorf("Start = %v, not during the probe", r.Start)
			}
			if r.Duration <= 0 {
				t.Errorf("Duration = %v, want above 0", r.Duration)
			}
		})
	}
	if n := redirectHits.Load(); n != 0 {
		t.Errorf("redirect target hit %d times: the probe must not follow redirects", n)
	}
	if ua, _ := userAgent.Load().(string); ua != "crinit-probe" {
		t.Errorf("User-Agent = %q, want crinit-probe", ua)
	}
}

func TestProber_Probe_Timeout(t *testing.T) {
	unblock := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(unblock) })

	const timeout = 100 * time.Millisecond
	p := NewProber(target(t, srv.URL+"/slow"), timeout)
	r := p.Probe(context.Background())
	select {
	case <-arrived:
	default:
		t.Fatal("the request never reached the handler: the timeout was not the handler's")
	}
	if r.OK || r.Cause != CauseTimeout || r.Status != 0 {
		t.Errorf("Probe = OK %v, Cause %q, Status %d (err %v); want a timeout", r.OK, r.Cause, r.Status, r.Err)
	}
	if r.Err == nil {
		t.Error("Err = nil on a timeout")
	}
	// The handler never answers: the probe's time is the timeout's.
	if r.Duration < timeout || r.Duration > timeout+2*time.Second {
		t.Errorf("Duration = %v, want close to the %v timeout", r.Duration, timeout)
	}
}

func TestProber_Probe_ContextCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewProber(target(t, srv.URL), 5*time.Second).Probe(ctx)
	if r.OK {
		t.Errorf("Probe with a cancelled context = OK")
	}
}

func TestProber_Probe_Refused(t *testing.T) {
	addr := freePort(t)
	for _, url := range []string{"http://" + addr + "/healthz", "tcp://" + addr} {
		t.Run(url, func(t *testing.T) {
			r := NewProber(target(t, url), 5*time.Second).Probe(context.Background())
			if r.OK || r.Cause != CauseRefused || r.Status != 0 || r.Err == nil {
				t.Errorf("Probe = OK %v, Cause %q, Status %d, Err %v; want refused", r.OK, r.Cause, r.Status, r.Err)
			}
		})
	}
}

func TestProber_Probe_TCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()

	r := NewProber(target(t, "tcp://"+ln.Addr().String()), 5*time.Second).Probe(context.Background())
	if !r.OK || r.Cause != "" || r.Status != 0 || r.Err != nil {
		t.Errorf("Probe = OK %v, Cause %q, Status %d, Err %v; want OK", r.OK, r.Cause, r.Status, r.Err)
	}
	if r.Duration <= 0 || r.Start.IsZero() {
		t.Errorf("Start %v, Duration %v: want both set", r.Start, r.Duration)
	}
	select {
	case err := <-accepted:
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("the probe never connected")
	}
}

func TestProber_Probe_HTTPS(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "not TLS", http.StatusBadRequest)
			return
		}
		hits.Add(1)
	}))
	t.Cleanup(srv.Close)
	// The server's certificate is self-signed: only a prober that skips
	// verification, as it should, passes.
	r := NewProber(target(t, srv.URL+"/healthz"), 5*time.Second).Probe(context.Background())
	if !r.OK || r.Status != 200 {
		t.Errorf("Probe = OK %v, Status %d, Cause %q, Err %v; want OK", r.OK, r.Status, r.Cause, r.Err)
	}
	if hits.Load() != 1 {
		t.Errorf("handler hit %d times, want 1", hits.Load())
	}
}

// connEvent is one ConnState transition the server saw.
type connEvent struct {
	conn  net.Conn
	state http.ConnState
}

func TestProber_Probe_NoKeepAlive(t *testing.T) {
	events := make(chan connEvent, 64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) { events <- connEvent{c, s} }
	srv.Start()
	t.Cleanup(srv.Close)

	p := NewProber(target(t, srv.URL+"/healthz"), 5*time.Second)
	deadline := time.After(wait)
	for i := range 5 {
		if r := p.Probe(context.Background()); !r.OK {
			t.Fatalf("probe %d: %+v", i, r)
		}
		// This probe's connection is new and gets closed, never idle
		// waiting for another request.
		var conn net.Conn
	events:
		for {
			select {
			case ev := <-events:
				switch {
				case ev.state == http.StateNew && conn == nil:
					conn = ev.conn
				case ev.state == http.StateNew:
					t.Fatalf("probe %d opened a second connection", i)
				case ev.conn != conn:
					t.Fatalf("probe %d: state %v on an earlier probe's connection", i, ev.state)
				case ev.state == http.StateIdle:
					t.Fatalf("probe %d: connection kept alive (StateIdle)", i)
				case ev.state == http.StateClosed:
					break events
				}
			case <-deadline:
				t.Fatalf("probe %d: its connection was not closed", i)
			}
		}
	}
	select {
	case ev := <-events:
		t.Errorf("extra connection event %v after the probes", ev.state)
	default:
	}
}

func TestProber_Run_SendsResults(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Result)
	done := make(chan struct{})
	p := NewProber(target(t, srv.URL), 5*time.Second)
	go func() {
		defer close(done)
		p.Run(ctx, 5*time.Millisecond, nil, out)
	}()
	var last time.Time
	for i := range 3 {
		select {
		case r := <-out:
			if !r.OK || r.Status != 200 {
				t.Errorf("result %d: %+v, want OK", i, r)
			}
			if !r.Start.After(last) {
				t.Errorf("result %d started at %v, not after the previous one (%v)", i, r.Start, last)
			}
			last = r.Start
		case <-time.After(wait):
			t.Fatalf("no result %d", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return after cancel")
	}
	if n := hits.Load(); n < 3 {
		t.Errorf("server saw %d requests for 3 results", n)
	}
	if got := p.Target().String(); got != srv.URL {
		t.Errorf("Target() = %q, want %q", got, srv.URL)
	}
}

func TestProber_Run_NewInterval(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	intervals := make(chan time.Duration)
	out := make(chan Result)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// An hour: no tick comes during the test.
		NewProber(target(t, srv.URL), 5*time.Second).Run(ctx, time.Hour, intervals, out)
	}()
	receive := func(what string) {
		t.Helper()
		select {
		case r := <-out:
			if !r.OK {
				t.Errorf("%s: %+v, want OK", what, r)
			}
		case <-time.After(wait):
			t.Fatalf("%s: no result", what)
		}
	}
	send := func(d time.Duration) {
		t.Helper()
		select {
		case intervals <- d:
		case <-time.After(wait):
			t.Fatalf("Run did not take the interval %v", d)
		}
	}

	send(time.Hour)
	receive("a new interval probes at once")
	send(time.Millisecond)
	receive("probe right after the change")
	for i := range 3 {
		receive(fmt.Sprintf("tick %d of the new interval", i+1))
	}
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return after cancel")
	}
}

func TestProber_Run_OneProbeInFlight(t *testing.T) {
	var inFlight, maxInFlight, requests atomic.Int32
	arrived := make(chan struct{}, 100)
	unblock := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1) // before the response is sent
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		requests.Add(1)
		arrived <- struct{}{}
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	// Cleanups run last in, first out: the handler is released before
	// Close waits for it.
	t.Cleanup(func() { close(unblock) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Result, 100)
	done := make(chan struct{})
	const interval = time.Millisecond
	go func() {
		defer close(done)
		NewProber(target(t, srv.URL), time.Minute).Run(ctx, interval, nil, out)
	}()

	select {
	case <-arrived:
	case <-time.After(wait):
		t.Fatal("no probe reached the server")
	}
	// An observation window, not a synchronisation: the ticker fires about
	// 50 times in it, and a Run that did not wait for the probe in flight
	// would send a second request during it.
	window := time.NewTimer(50 * interval)
	select {
	case <-arrived:
		t.Error("a second request arrived while the first was still in flight")
	case <-window.C:
	}

	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return promptly after cancel while a probe was blocked")
	}
	if n := maxInFlight.Load(); n != 1 {
		t.Errorf("up to %d probes in flight, want 1", n)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the first never finished", n)
	}
	if len(out) != 0 {
		t.Errorf("Run sent %d results after cancel, want none", len(out))
	}
}

// errHook is a context that reports when Run checks it between a probe
// and sending the result: after that check, Run is on its way to the send.
type errHook struct {
	context.Context
	checked chan struct{} // one send per check by Run
}

func (c errHook) Err() error {
	err := c.Context.Err()
	if pc, _, _, ok := runtime.Caller(1); ok && strings.HasSuffix(runtime.FuncForPC(pc).Name(), ".(*Prober).Run") {
		c.checked <- struct{}{}
	}
	return err
}

func TestProber_Run_CancelWhileSending(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)

	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := errHook{parent, make(chan struct{}, 1)}
	out := make(chan Result) // never read
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewProber(target(t, srv.URL), 5*time.Second).Run(ctx, time.Millisecond, nil, out)
	}()
	// The first probe is over and its result is about to be sent to a
	// channel nobody reads: Run must still see the cancel.
	select {
	case <-ctx.checked:
	case <-time.After(wait):
		t.Fatal("the first probe never completed")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run blocked on sending to an unread channel after cancel")
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d probes ran while the first result was unsent, want 1", n)
	}
}

// TestProber_ConcurrentProbes checks that one Prober can be used from
// several goroutines (the supervisor's Run and a manual probe, say)
// without a data race; run with -race.
func TestProber_ConcurrentProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	p := NewProber(target(t, srv.URL), 5*time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if r := p.Probe(context.Background()); !r.OK {
				t.Errorf("probe: %+v", r)
			}
		})
	}
	wg.Wait()
}
