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

// app is one instance of the example app as its "listening" line gives it.
type app struct {
	Port      int
	AdminPort int `json:"admin_port"`
	PID       int
	TS        int64 // ms since the epoch
}

// appListening waits for the example app's next "listening" line.
func appListening(t *testing.T, c *crinit) app {
	t.Helper()
	l := c.waitLine("the app listening", func(l string) bool {
		return strings.HasPrefix(l, `{"app":"example","event":"listening"`)
	})
	var a app
	if err := json.Unmarshal([]byte(l), &a); err != nil || a.Port == 0 {
		t.Fatalf("listening line %q: %v", l, err)
	}
	return a
}

// appEnv runs the example app on free loopback ports.
var appEnv = []string{"PORT=0", "ADMIN_PORT=0", "HOST=127.0.0.1"}

// get fetches a path from the app and returns its status and body.
func (a app) get(t *testing.T, path string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", a.Port, path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// admin posts a fault switch to the app's admin server.
func (a app) admin(t *testing.T, pathAndQuery string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d%s", a.AdminPort, pathAndQuery), "", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", pathAndQuery, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s: %s, want 202", pathAndQuery, resp.Status)
	}
}

// The main job: the example app under crinit as PID 1 serves requests and
// shuts down cleanly, with crinit passing on its exit status.
func TestApp_ServesAndShutsDown(t *testing.T) {
	requireNode(t)
	c := startCrinit(t, runOpts{ns: true, env: appEnv}, "--", "node", appServer(t))
	a := appListening(t, c)
	status, body := a.get(t, "/api/reportes?limit=1")
	var got struct{ Reportes []any }
	if status != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Reportes) != 1 {
		t.Errorf("GET /api/reportes?limit=1: %d %s, want 200 with one item", status, body)
	}

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
