package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadyURL(t *testing.T) {
	tests := []struct {
		addr    string
		want    string
		wantErr bool
	}{
		{":9753", "http://127.0.0.1:9753/readyz", false},
		{"0.0.0.0:1", "http://127.0.0.1:1/readyz", false},
		{"[::]:1", "http://127.0.0.1:1/readyz", false},
		{"127.0.0.1:9753", "http://127.0.0.1:9753/readyz", false},
		{"host:1", "http://host:1/readyz", false},
		{"[::1]:9753", "http://[::1]:9753/readyz", false},
		{"nope", "", true},
		{"", "", true},
		{"1:2:3", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := readyURL(tt.addr)
			if tt.wantErr {
				if err == nil {
					t.Errorf("readyURL(%q) = %q, want an error", tt.addr, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("readyURL(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
			}
		})
	}
}

// readyServer is a fake crinit endpoint whose /readyz answers code and
// body; any other path fails the test.
func readyServer(t *testing.T, code int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || r.Method != http.MethodGet {
			t.Errorf("crinit health asked %s %s, want GET /readyz", r.Method, r.URL.Path)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// runHealth runs `crinit health ARGS...` through run.
func runHealth(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(append([]string{"crinit", "health"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		code       int    // what /readyz answers
		body       string // and with what
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"ready", 200, "ok\n", 0, "crinit health: ready: ok\n", ""},
		{"draining", 503, "draining before shutdown\n", 1, "", "crinit health: not ready (503): draining before shutdown\n"},
		{"probe unhealthy", 503, "probe unhealthy\n", 1, "", "crinit health: not ready (503): probe unhealthy\n"},
		{"other status", 500, "boom", 1, "", "crinit health: not ready (500): boom\n"},
		{"3xx is not ready", 302, "", 1, "", "crinit health: not ready (302): \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			addr := readyServer(t, tt.code, tt.body)
			code, stdout, stderr := runHealth(t, "--addr", addr)
			if code != tt.wantCode || stdout != tt.wantStdout || stderr != tt.wantStderr {
				t.Errorf("crinit health = %d, stdout %q, stderr %q; want %d, %q, %q",
					code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestHealth_WildcardAddr(t *testing.T) {
	clearEnv(t)
	addr := readyServer(t, 200, "ok\n")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	// crinit --health-addr :PORT listens everywhere; health asks loopback.
	if code, stdout, stderr := runHealth(t, "--addr", ":"+port); code != 0 || !strings.Contains(stdout, "ready") {
		t.Errorf("crinit health --addr :%s = %d, stdout %q, stderr %q; want 0 and ready", port, code, stdout, stderr)
	}
}

func TestHealth_NothingListening(t *testing.T) {
	clearEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, stdout, stderr := runHealth(t, "--addr", addr)
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "crinit health: unhealthy: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("crinit health with nothing listening = %d, stdout %q, stderr %q; want 1 and one unhealthy line", code, stdout, stderr)
	}
}

func TestHealth_Usage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // each must appear on stderr
	}{
		{"bad addr", []string{"--addr", "nope"}, []string{"--addr", "CRINIT_HEALTH_ADDR", `"nope"`}},
		{"bad timeout", []string{"--addr", "127.0.0.1:1", "--timeout", "soon"}, []string{"--timeout", `"soon"`}},
		{"zero timeout", []string{"--addr", "127.0.0.1:1", "--timeout", "0s"}, []string{"--timeout", `"0s"`, "above 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			code, stdout, stderr := runHealth(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want none", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not name %s", stderr, w)
				}
			}
		})
	}
}

// TestHealth_UnknownFlag: a mistyped flag gets the one-line error on
// stderr that crinit's own flags get (see TestRun_ExitStatus), not the
// help text on stdout.
func TestHealth_UnknownFlag(t *testing.T) {
	clearEnv(t)
	code, stdout, stderr := runHealth(t, "--bogus")
	if code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, "bogus") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr = %q, want one line naming the flag", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want none", stdout)
	}
}

func TestHealth_EnvAddr(t *testing.T) {
	clearEnv(t)
	addr := readyServer(t, 503, "probe starting\n")
	t.Setenv("CRINIT_HEALTH_ADDR", addr)
	code, _, stderr := runHealth(t)
	if code != 1 || stderr != "crinit health: not ready (503): probe starting\n" {
		t.Errorf("crinit health with CRINIT_HEALTH_ADDR = %d, stderr %q; want 1 and the probe's reason", code, stderr)
	}

	// The flag beats the environment.
	t.Setenv("CRINIT_HEALTH_ADDR", "nope")
	okAddr := readyServer(t, 200, "ok\n")
	if code, stdout, stderr := runHealth(t, "--addr", okAddr); code != 0 || stdout != "crinit health: ready: ok\n" {
		t.Errorf("crinit health --addr over a bad CRINIT_HEALTH_ADDR = %d, stdout %q, stderr %q; want 0", code, stdout, stderr)
	}
}

func TestHealth_Timeout(t *testing.T) {
	clearEnv(t)
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
	t.Cleanup(func() { close(unblock) }) // runs before Close

	type outcome struct {
		code           int
		stdout, stderr string
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		code, stdout, stderr := runHealth(t, "--addr", srv.Listener.Addr().String(), "--timeout", "100ms")
		done <- outcome{code, stdout, stderr}
	}()
	select {
	case o := <-done:
		if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
			t.Errorf("gave up after %v, before the 100ms timeout", elapsed)
		}
		if o.code != 1 || o.stdout != "" || !strings.HasPrefix(o.stderr, "crinit health: unhealthy: ") {
			t.Errorf("crinit health against a hung endpoint = %d, stdout %q, stderr %q; want 1, unhealthy", o.code, o.stdout, o.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("crinit health --timeout 100ms still waiting on a hung endpoint after 10s")
	}
	select {
	case <-arrived:
	default:
		t.Error("the request never reached the endpoint")
	}
}
