package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// endpointAddr waits for crinit's "endpoint listening" event.
func endpointAddr(t *testing.T, c *crinit) string {
	t.Helper()
	return c.waitEvent("endpoint listening").str("addr")
}

// fetch GETs a URL and returns status and body.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metrics scrapes /metrics and parses it with Prometheus's text parser.
func metrics(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := fetch(t, "http://"+addr+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metricValue is the value of the sample of name whose labels include
// want; -1 when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount())
		}
	}
	return -1
}

// health runs `crinit health --addr addr` and returns its exit code and
// output.
func health(t *testing.T, addr string) (int, string) {
	t.Helper()
	out, err := exec.Command(crinitBin, "health", "--addr", addr).CombinedOutput()
	return exitCode(err), strings.TrimSpace(string(out))
}

// awaitMetricAtLeast polls /metrics until the series of name with labels
// reaches at least want: crinit logs an event before it publishes it.
func awaitMetricAtLeast(t *testing.T, addr, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		got := metricValue(metrics(t, addr), name, labels)
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v after %v, want at least %v", name, labels, got, waitLong, want)
		}
		time.Sleep(50 * time.Millisecond) // /metrics can only be polled
	}
}

// awaitStatus polls url until it answers code, and returns the body.
func awaitStatus(t *testing.T, url string, code int) string {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		status, body := fetch(t, url)
		if status == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answered %d %q for %v, want %d", url, status, body, waitLong, code)
		}
		time.Sleep(10 * time.Millisecond) // an HTTP endpoint can only be polled
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A hung app (its event loop blocked) fails its probe and is restarted with
// reason probe; /readyz, /metrics and crinit health follow.
func TestProbe_HungAppRestarted(t *testing.T) {
	requireNode(t)
	port := freePort(t)
	c := startCrinit(t, runOpts{ns: true, env: []string{fmt.Sprintf("PORT=%d", port), "ADMIN_PORT=0", "HOST=127.0.0.1"}},
		"--health-addr", "127.0.0.1:0",
		"--probe-url", fmt.Sprintf("http://127.0.0.1:%d/api/reportes?limit=1", port),
		"--probe-interval", "200ms", "--probe-timeout", "150ms", "--probe-retries", "2", "--probe-start-period", "10s",
		"--restart-delay", "50ms", "--kill-timeout", "300ms",
		"--", "node", appServer(t))
	addr := endpointAddr(t, c)
	a := appListening(t, c)
	c.waitEvent("probe healthy")
	awaitStatus(t, "http://"+addr+"/readyz", 200)
	if code, out := health(t, addr); code != 0 || !strings.Contains(out, "ready") {
		t.Errorf("crinit health: %d %q, want 0 and ready", code, out)
	}

	a.admin(t, "/block?ms=60000")
	for i := 1; i <= 2; i++ {
		if e := c.waitEvent("probe failed"); e.str("cause") != "timeout" || e.num("failures") != i {
			t.Errorf("probe failure %d: %v, want cause timeout", i, e)
		}
	}
	c.waitEvent("probe unhealthy, restarting child")
	awaitStatus(t, "http://"+addr+"/readyz", 503)
	if code, out := health(t, addr); code != 1 || !strings.Contains(out, "not ready") {
		t.Errorf("crinit health: %d %q, want 1 and not ready", code, out)
	}
	if e := c.waitEvent("child exited"); e.str("reason") != "probe" || e.str("signal") != "SIGKILL" {
		t.Errorf("child exited %v, want reason probe, killed after the kill timeout", e)
	}
	c.waitEvent("child started")
	c.waitEvent("probe healthy")
	// The endpoint serves the snapshot published after the event that
	// logged this line; an HTTP client can only poll for it.
	awaitStatus(t, "http://"+addr+"/readyz", 200)
	fams := metrics(t, addr)
	for _, m := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"crinit_restarts_total", map[string]string{"reason": "probe"}, 1},
		{"crinit_child_exits_total", map[string]string{"reason": "probe"}, 1},
		{"crinit_child_starts_total", nil, 2},
		{"crinit_child_up", nil, 1},
		{"crinit_probe_healthy", nil, 1},
	} {
		if got := metricValue(fams, m.name, m.labels); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
	if got := metricValue(fams, "crinit_probe_failures_total", nil); got < 2 {
		t.Errorf("crinit_probe_failures_total = %v, want at least 2", got)
	}
	if got := metricValue(fams, "go_goroutines", nil); got <= 0 {
		t.Errorf("go_goroutines = %v, want crinit's own runtime metrics", got)
	}
	c.signal(syscall.SIGTERM)
	c.wait()
}

// The endpoint is read-only and hides argv unless asked.
func TestEndpoint_ReadOnly(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--health-addr", "127.0.0.1:0", "--"}, helperCmd(t, "signals", "secret-arg")...)...)
	addr := endpointAddr(t, c)
	c.waitPrefix("child ready")
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		req, _ := http.NewRequest(method, "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /healthz: %d Allow %q, want 405 with Allow: GET, HEAD", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	status, body := fetch(t, "http://"+addr+"/status")
	if status != 200 || strings.Contains(body, "secret-arg") || !strings.Contains(body, `"state": "running"`) {
		t.Errorf("/status: %d %s, want 200, state running, and no argv", status, body)
	}
	if status, _ := fetch(t, "http://"+addr+"/healthz"); status != 200 {
		t.Errorf("/healthz: %d, want 200", status)
	}
	c.signal(syscall.SIGTERM)
	c.wait()
}

// Drain before stop: /readyz turns 503 at once on SIGTERM, and the signal
// reaches the child only after --drain-delay.
func TestEndpoint_DrainBeforeStop(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--health-addr", "127.0.0.1:0", "--drain-delay", "1s", "--"},
		helperCmd(t, "signals")...)...)
	addr := endpointAddr(t, c)
	c.waitPrefix("child ready")
	start := time.Now()
	c.signal(syscall.SIGTERM)
	c.waitEvent("shutdown requested")
	if body := awaitStatus(t, "http://"+addr+"/readyz", 503); !strings.Contains(body, "draining") {
		t.Errorf("/readyz during the drain: %q, want draining", body)
	}
	c.waitPrefix("child got 15")
	if d := time.Since(start); d < time.Second {
		t.Errorf("the child got SIGTERM %v after crinit, before the 1s drain ended", d)
	}
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
}

// crinit health with nothing listening fails with a reason.
func TestHealth_NothingListening(t *testing.T) {
	code, out := health(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if code != 1 || !strings.Contains(out, "unhealthy") {
		t.Errorf("crinit health: %d %q, want 1 and unhealthy", code, out)
	}
}
