package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	mib       = 1 << 20
	container = 512 * mib // the container's memory limit the tests model
)

// appRSS is one of the example app's "rss" lines.
type appRSS struct {
	RSS int64 `json:"rss_bytes"`
	TS  int64 // ms since the epoch
}

// eventTime reads an event's @timestamp.
func eventTime(t *testing.T, e event) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, e.str("@timestamp"))
	if err != nil {
		t.Fatalf("event %v: %v", e, err)
	}
	return ts
}

// A gradual leak is stopped by crinit with reason rss_limit, well before
// the cgroup's OOM killer would act, and the new child serves requests.
func TestMemory_GradualLeakRestarted(t *testing.T) {
	requireNode(t)
	cg := memoryCgroup(t, container)
	const limit = 150 * mib
	c := startCrinit(t, runOpts{ns: true, env: appEnv, cgroup: cg},
		"--rss-limit", "150MiB", "--rss-warn", "100MiB", "--restart-delay", "100ms",
		"--", "node", appServer(t))
	a := appListening(t, c)
	a.admin(t, "/leak?mb_per_s=40&kind=buffer")

	// The leaking child's own RSS reports: when did the tree cross?
	var crossed time.Time
	c.waitLine("the app's RSS over the limit", func(l string) bool {
		var r appRSS
		if strings.Contains(l, `"event":"rss"`) && json.Unmarshal([]byte(l), &r) == nil && r.RSS > limit {
			crossed = time.UnixMilli(r.TS)
			return true
		}
		return false
	})
	stop := c.waitEvent("stopping child")
	if stop.str("reason") != "rss_limit" {
		t.Fatalf("stopping child %v, want reason rss_limit", stop)
	}
	second := appListening(t, c)
	if status, _ := second.get(t, "/api/reportes?limit=1"); status != 200 {
		t.Errorf("the restarted app answered %d, want 200", status)
	}
	served := time.Now()
	killed := eventTime(t, stop)
	exits := c.events("child exited")
	if len(exits) != 1 || exits[0].str("reason") != "rss_limit" {
		t.Errorf("exits %v, want one with reason rss_limit", exits)
	}
	over := c.events("rss limit exceeded")
	if len(over) != 1 || over[0].str("measure") != "tree_rss" || over[0].num("rss_bytes") <= limit {
		t.Errorf("rss limit events %v, want one over %d bytes measured on the tree", over, limit)
	}
	if n := len(c.events("rss warning")); n != 1 {
		t.Errorf("%d rss warnings, want 1 for the first child", n)
	}
	if n := oomKills(t, cg); n != 0 {
		t.Errorf("the cgroup's OOM killer acted %d times; crinit should have acted first", n)
	}
	t.Logf("crossing to kill: %v; kill to first request served by the new child: %v",
		killed.Sub(crossed).Round(time.Millisecond), served.Sub(killed).Round(time.Millisecond))
}

// A sudden allocation past the cgroup limit meets the kernel's OOM killer
// before any sampler can act; crinit names it and restarts. It starts no
// thread meanwhile: in a cgroup at its limit the kernel may refuse one,
// which Go's runtime cannot survive.
func TestMemory_OOMKillRecognised(t *testing.T) {
	requireNode(t)
	cg := memoryCgroup(t, container)
	c := startCrinit(t, runOpts{ns: true, env: appEnv, cgroup: cg},
		"--rss-limit", "0", "--restart-delay", "100ms", "--", "node", appServer(t))
	a := appListening(t, c)
	threads := c.threads()
	a.admin(t, "/alloc?mb=700")
	e := c.waitEvent("child exited")
	if e.str("reason") != "oom_kill" || e.str("signal") != "SIGKILL" || e.str("@level") != "error" {
		t.Errorf("child exited %v, want an error with reason oom_kill and signal SIGKILL", e)
	}
	second := appListening(t, c)
	if status, _ := second.get(t, "/"); status != 200 {
		t.Errorf("the restarted app answered %d, want 200", status)
	}
	if n := c.threads(); n != threads {
		t.Errorf("crinit ran %d threads before the OOM kill and %d after, want no new one", threads, n)
	}
	if n := oomKills(t, cg); n < 1 {
		t.Errorf("cgroup oom_kill = %d, want at least 1", n)
	}
}

// A kernel OOM kill of a process the child forked (not crinit's own child)
// is logged as it happens, through cgroup v1's OOM eventfd, naming the
// victim; the child lives on and /metrics counts the kill.
func TestMemory_GrandchildOOMKillLogged(t *testing.T) {
	requireNode(t)
	cg := memoryCgroup(t, container)
	grand := `const c = require("child_process").spawn(process.execPath, ["-e", "Buffer.alloc(700 << 20, 1); setInterval(() => {}, 1000)"]);
		console.log(JSON.stringify({grandchild: c.pid})); setInterval(() => {}, 1000)`
	c := startCrinit(t, runOpts{ns: true, cgroup: cg}, "--health-addr", "127.0.0.1:0", "--rss-limit", "0", "--", "node", "-e", grand)
	addr := endpointAddr(t, c)
	e := c.waitEvent("oom kill")
	t.Logf("oom kill: %v", e)
	if e.str("found_by") == "" || e.num("victim_pid") == 0 || !strings.Contains(e.str("victim_command"), "node") {
		t.Errorf("oom kill %v, want the victim named", e)
	}
	if got := c.events("child exited"); len(got) != 0 {
		t.Errorf("child exited %v: the child itself was not killed", got)
	}
	if len(c.events("memory events polled")) != 0 {
		t.Errorf("the OOM eventfd was not registered: %v", c.events("memory events polled"))
	}
	awaitMetricAtLeast(t, addr, "crinit_cgroup_memory_events_total", map[string]string{"event": "oom_kill"}, 1)
	c.signal(syscall.SIGTERM)
	c.wait()
}

// An FD leak is warned about, then the child is restarted with fd_limit.
func TestMemory_FDLeakRestarted(t *testing.T) {
	requireNode(t)
	c := startCrinit(t, runOpts{ns: true, env: appEnv},
		"--nofile", "1024", "--fd-warn", "50%", "--fd-limit", "80%", "--restart-delay", "100ms",
		"--", "node", appServer(t))
	a := appListening(t, c)
	a.admin(t, "/leak-fds?per_s=400")
	w := c.waitEvent("fd warning")
	if w.num("warn") != 512 || w.num("rlimit_nofile") != 1024 || w.num("fds") < 512 {
		t.Errorf("fd warning %v, want fds >= warn 512 of rlimit 1024", w)
	}
	e := c.waitEvent("fd limit exceeded")
	if e.num("limit") != 819 || e.num("fds") < 819 {
		t.Errorf("fd limit event %v, want fds >= limit 819", e)
	}
	if x := c.waitEvent("child exited"); x.str("reason") != "fd_limit" {
		t.Errorf("child exited %v, want reason fd_limit", x)
	}
	second := appListening(t, c)
	if status, _ := second.get(t, "/"); status != 200 {
		t.Errorf("the restarted app answered %d, want 200", status)
	}
}

// With --heap-snapshot-dir, crossing the warn level leaves a heap snapshot
// on disk before the kill.
func TestMemory_HeapSnapshotBeforeKill(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	c := startCrinit(t, runOpts{ns: true, env: appEnv},
		"--rss-limit", "160MiB", "--rss-warn", "100MiB", "--heap-snapshot-dir", dir, "--restart", "never",
		"--", "node", appServer(t))
	a := appListening(t, c)
	a.admin(t, "/leak?mb_per_s=40&kind=buffer")
	req := c.waitEvent("heap snapshot requested")
	if req.num("pid") != a.PID {
		t.Errorf("snapshot requested of pid %d, want the app's %d", req.num("pid"), a.PID)
	}
	if e := c.waitEvent("child exited"); e.str("reason") != "rss_limit" {
		t.Fatalf("child exited %v, want reason rss_limit", e)
	}
	c.wait()
	// node writes the snapshot on SIGUSR2 before it handles the SIGTERM
	// of the kill: both run on its main thread, in that order.
	files, _ := filepath.Glob(filepath.Join(dir, "*.heapsnapshot"))
	if len(files) != 1 {
		t.Fatalf("heap snapshots %v, want one", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !json.Valid(b) {
		t.Errorf("snapshot %s is not complete JSON (%d bytes, %v)", files[0], len(b), err)
	}
}

// node dying at its V8 heap limit is told apart from other deaths.
func TestMemory_HeapLimitRecognised(t *testing.T) {
	requireNode(t)
	c := startCrinit(t, runOpts{ns: true, env: append([]string{"LEAK_MB_PER_S=100", "LEAK_KIND=heap"}, appEnv...)},
		"--max-old-space-size", "48", "--rss-limit", "0", "--restart", "never", "--", "node", appServer(t))
	e := c.waitEvent("child exited")
	if e.str("reason") != "heap_limit" || e.num("exit_code") != 134 {
		t.Errorf("child exited %v, want reason heap_limit with exit code 134", e)
	}
	if got := c.wait(); got != 134 {
		t.Errorf("exit code = %d, want 134", got)
	}
}

// The child, not crinit, is the OOM killer's first choice.
func TestMemory_ChildOOMScoreAdj(t *testing.T) {
	requireNode(t)
	// crinit keeps the score it inherits, this test's; the child's is
	// above it (the default 500, or higher where the test's is already).
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	inherited, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	child := max(500, min(inherited+100, 1000))
	c := startCrinit(t, runOpts{ns: true}, "--child-oom-score-adj", strconv.Itoa(child), "--", "node", "-e", `
		const fs = require("fs"), { spawn } = require("child_process");
		const own = fs.readFileSync("/proc/self/oom_score_adj", "utf8").trim();
		const init = fs.readFileSync("/proc/1/oom_score_adj", "utf8").trim();
		console.log("oom", own, init);
		spawn("sleep", ["30"], { stdio: "inherit" });
		setTimeout(() => {}, 30000);`)
	if l, want := c.waitPrefix("oom "), fmt.Sprintf("oom %d %d", child, inherited); l != want {
		t.Errorf("oom_score_adj of child and crinit: %q, want %q", l, want)
	}
	c.signal(syscall.SIGTERM)
	c.wait()
}
