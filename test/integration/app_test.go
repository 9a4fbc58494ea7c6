package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// appServer is examples/app/server.js, the bundled example service.
func appServer(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/app/server.js")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// appListening waits for the example app's "listening" line.
func appListening(t *testing.T, c *crinit) (port int) {
	t.Helper()
	l := c.waitLine("the app listening", func(l string) bool {
		return strings.HasPrefix(l, `{"app":"example","event":"listening"`)
	})
	var ev struct{ Port int }
	if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Port == 0 {
		t.Fatalf("listening line %q: %v", l, err)
	}
	return ev.Port
}

// The main job: the example app under crinit as PID 1 serves requests and
// shuts down cleanly, with crinit passing on its exit status.
func TestApp_ServesAndShutsDown(t *testing.T) {
	requireNode(t)
	c := startCrinit(t, runOpts{ns: true, env: []string{"PORT=0", "ADMIN_PORT=0", "HOST=127.0.0.1"}},
		"--", "node", appServer(t))
	port := appListening(t, c)

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/reportes?limit=1", port))
	if err != nil {
		t.Fatalf("GET /api/reportes: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct{ Reportes []any }
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || len(got.Reportes) != 1 {
		t.Errorf("GET /api/reportes?limit=1: %d %s, want 200 with one item", resp.StatusCode, body)
	}
	client.CloseIdleConnections()

	c.signal(syscall.SIGTERM)
	c.waitLine("the app's SIGTERM line", func(l string) bool { return strings.Contains(l, `"event":"signal","signal":"SIGTERM"`) })
	if code := c.wait(); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	e := c.events("child exited")
	if len(e) != 1 || e[0].num("exit_code") != 0 {
		t.Errorf("child exited events %v, want one with exit_code 0", e)
	}
	if s := c.events("child started"); len(s) != 1 || !strings.Contains(fmt.Sprint(s[0]["argv"]), "--max-old-space-size=256") {
		t.Errorf("child started events %v, want node started with --max-old-space-size=256", s)
	}
}
