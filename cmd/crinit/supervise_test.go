package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/internal/testmain"
	"github.com/crinit/crinit/limits"
)

// logEvent is one JSON log line: its level, message and keys.
type logEvent struct {
	level, msg string
	keys       map[string]any // numbers as json.Number
}

// captureLog returns a JSON logger at trace level and a function that
// parses what was logged so far.
func captureLog(t *testing.T) (hclog.Logger, func() []logEvent) {
	t.Helper()
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "crinit", Level: hclog.Trace, Output: &buf, JSONFormat: true})
	return log, func() []logEvent {
		t.Helper()
		var out []logEvent
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		dec.UseNumber()
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				return out
			} else if err != nil {
				t.Fatalf("log is not JSON lines: %v\n%s", err, buf.String())
			}
			ev := logEvent{keys: m}
			ev.level, _ = m["@level"].(string)
			ev.msg, _ = m["@message"].(string)
			out = append(out, ev)
		}
	}
}

// num reads a numeric key of an event as an unsigned integer.
func (e logEvent) num(t *testing.T, key string) uint64 {
	t.Helper()
	n, ok := e.keys[key].(json.Number)
	if !ok {
		t.Fatalf("%q: key %s = %#v, want a number", e.msg, key, e.keys[key])
	}
	var v uint64
	if err := json.Unmarshal([]byte(n.String()), &v); err != nil {
		t.Fatalf("%q: key %s = %s: %v", e.msg, key, n, err)
	}
	return v
}

const (
	msgAuto          = "auto size"
	msgAutoFallback  = "auto size without a cgroup limit: using the default"
	msgRSSOverCgroup = "rss limit at or over the cgroup limit: the kernel's OOM killer acts first"
	msgHeapOverRSS   = "heap size at or over the rss limit: node will be restarted before V8 collects its garbage"
	msgHeapOverCg    = "heap size at or over the cgroup limit"
)

func TestResolveAuto(t *testing.T) {
	const cg512 = 512 << 20
	type autoLine struct {
		level, msg, flag string
		bytes            uint64
	}
	tests := []struct {
		name             string
		heapAuto         bool
		rssAuto          bool
		cgLimit          uint64
		wantHeapMiB      uint64
		wantRSS          uint64
		wantLines        []autoLine
		wantCgroupLogged bool
	}{
		{"both auto, 512 MiB cgroup", true, true, cg512, 256, 322122547, []autoLine{
			{"info", msgAuto, "--max-old-space-size", 256 << 20},
			{"info", msgAuto, "--rss-limit", 322122547},
		}, true},
		{"both auto, 1 GiB cgroup", true, true, 1 << 30, 512, 644245094, []autoLine{
			{"info", msgAuto, "--max-old-space-size", 512 << 20},
			{"info", msgAuto, "--rss-limit", 644245094},
		}, true},
		{"both auto, no cgroup limit", true, true, 0, fallbackHeapMiB, uint64(fallbackRSSLimit), []autoLine{
			{"warn", msgAutoFallback, "--max-old-space-size", fallbackHeapMiB << 20},
			{"warn", msgAutoFallback, "--rss-limit", uint64(fallbackRSSLimit)},
		}, false},
		{"heap auto only", true, false, cg512, 256, 300 << 20, []autoLine{
			{"info", msgAuto, "--max-old-space-size", 256 << 20},
		}, true},
		{"rss auto only, no limit", false, true, 0, 256, uint64(fallbackRSSLimit), []autoLine{
			{"warn", msgAutoFallback, "--rss-limit", uint64(fallbackRSSLimit)},
		}, false},
		{"nothing auto", false, false, cg512, 256, 300 << 20, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaults("node", "server.js")
			if tt.heapAuto {
				o.heapAuto, o.heapMiB = true, 0
			}
			if tt.rssAuto {
				o.rssAuto, o.rssLimit = true, 0
			}
			log, events := captureLog(t)
			resolveAuto(&o, tt.cgLimit, log)
			if o.heapMiB != tt.wantHeapMiB || o.rssLimit != tt.wantRSS {
				t.Errorf("heap %d MiB, rss limit %d; want %d MiB, %d", o.heapMiB, o.rssLimit, tt.wantHeapMiB, tt.wantRSS)
			}
			got := events()
			if len(got) != len(tt.wantLines) {
				t.Fatalf("logged %+v, want %d lines", got, len(tt.wantLines))
			}
			for i, w := range tt.wantLines {
				g := got[i]
				if g.level != w.level || g.msg != w.msg || g.keys["flag"] != w.flag {
					t.Errorf("line %d: %s %q flag %v; want %s %q flag %s", i, g.level, g.msg, g.keys["flag"], w.level, w.msg, w.flag)
				}
				if b := g.num(t, "bytes"); b != w.bytes {
					t.Errorf("line %d: bytes %d, want %d", i, b, w.bytes)
				}
				_, hasCg := g.keys["cgroup_limit_bytes"]
				if hasCg != tt.wantCgroupLogged {
					t.Errorf("line %d: cgroup_limit_bytes present %v, want %v", i, hasCg, tt.wantCgroupLogged)
				} else if hasCg && g.num(t, "cgroup_limit_bytes") != tt.cgLimit {
					t.Errorf("line %d: cgroup_limit_bytes %v, want %d", i, g.keys["cgroup_limit_bytes"], tt.cgLimit)
				}
			}
		})
	}
}

func TestWarnUnworkable(t *testing.T) {
	const mib = uint64(limits.MiB)
	tests := []struct {
		name     string
		heapMiB  uint64
		rssLimit uint64
		cgLimit  uint64
		want     []string // messages, in order
	}{
		{"defaults, 512 MiB cgroup", 256, 300 * mib, 512 * mib, nil},
		{"defaults, no cgroup limit", 256, 300 * mib, 0, nil},
		{"auto, 512 MiB cgroup", 256, 322122547, 512 * mib, nil},
		{"auto fallbacks, no cgroup limit", fallbackHeapMiB, uint64(fallbackRSSLimit), 0, nil},
		{"rss limit equal to the cgroup limit", 256, 512 * mib, 512 * mib, []string{msgRSSOverCgroup}},
		{"rss limit over the cgroup limit", 256, 600 * mib, 512 * mib, []string{msgRSSOverCgroup}},
		{"rss limit just under the cgroup limit", 256, 512*mib - 1, 512 * mib, nil},
		{"heap equal to the rss limit", 300, 300 * mib, 0, []string{msgHeapOverRSS}},
		{"heap over the rss limit", 512, 300 * mib, 1024 * mib, []string{msgHeapOverRSS}},
		{"heap just under the rss limit", 299, 300 * mib, 0, nil},
		{"heap over the rss limit, rss limit off", 4096, 0, 0, nil},
		{"heap at the cgroup limit", 512, 0, 512 * mib, []string{msgHeapOverCg}},
		{"heap off", 0, 300 * mib, 512 * mib, nil},
		{"all three", 1024, 600 * mib, 512 * mib, []string{msgRSSOverCgroup, msgHeapOverRSS, msgHeapOverCg}},
		{"defaults in a 256 MiB cgroup", 256, 300 * mib, 256 * mib, []string{msgRSSOverCgroup, msgHeapOverCg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaults("node", "server.js")
			o.heapMiB, o.rssLimit = tt.heapMiB, tt.rssLimit
			log, events := captureLog(t)
			warnUnworkable(o, tt.cgLimit, log)
			got := events()
			var msgs []string
			for _, e := range got {
				msgs = append(msgs, e.msg)
				if e.level != "warn" {
					t.Errorf("%q logged at %s, want warn", e.msg, e.level)
				}
			}
			if !slices.Equal(msgs, tt.want) {
				t.Fatalf("warnings %q, want %q", msgs, tt.want)
			}
			for _, e := range got {
				switch e.msg {
				case msgRSSOverCgroup:
					if e.num(t, "rss_limit_bytes") != tt.rssLimit || e.num(t, "cgroup_limit_bytes") != tt.cgLimit {
						t.Errorf("%q: keys %v", e.msg, e.keys)
					}
				case msgHeapOverRSS:
					if e.num(t, "heap_bytes") != tt.heapMiB*mib || e.num(t, "rss_limit_bytes") != tt.rssLimit {
						t.Errorf("%q: keys %v", e.msg, e.keys)
					}
				case msgHeapOverCg:
					if e.num(t, "heap_bytes") != tt.heapMiB*mib || e.num(t, "cgroup_limit_bytes") != tt.cgLimit {
						t.Errorf("%q: keys %v", e.msg, e.keys)
					}
				}
			}
		})
	}
}

// TestAutoThenWarn runs the two in the order supervise does: auto sizes
// from a cgroup limit never warn about themselves.
func TestAutoThenWarn(t *testing.T) {
	for _, cg := range []uint64{0, 64 << 20, 256 << 20, 512 << 20, 2 << 30, 16 << 30} {
		o := defaults("node", "server.js")
		o.heapAuto, o.heapMiB, o.rssAuto, o.rssLimit = true, 0, true, 0
		log, events := captureLog(t)
		resolveAuto(&o, cg, log)
		n := len(events())
		warnUnworkable(o, cg, log)
		if extra := events()[n:]; len(extra) != 0 {
			t.Errorf("cgroup limit %d: heap %d MiB, rss limit %d: warnings %+v", cg, o.heapMiB, o.rssLimit, extra)
		}
	}
}

// TestRun_Supervises drives the whole CLI in-process with a real child:
// the limits are applied, the endpoint serves, the child's status is
// crinit's.
func TestRun_Supervises(t *testing.T) {
	clearEnv(t)
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snapshots")
	var stdout, stderr strings.Builder
	code := run([]string{"crinit", "--log-format", "json", "--health-addr", "127.0.0.1:0", "--nofile", strconv.FormatUint(rl.Cur, 10),
		"--heap-snapshot-dir", dir, "--probe-url", "tcp://127.0.0.1:1", "--restart", "never", "--", "sh", "-c", "exit 4"}, &stdout, &stderr)
	if code != 4 {
		t.Fatalf("exit status %d, want the child's 4; stderr %q\n%s", code, stderr.String(), stdout.String())
	}
	for _, msg := range []string{`"limits applied"`, `"endpoint listening"`, `"child exited"`, `"shutdown"`} {
		if !strings.Contains(stdout.String(), msg) {
			t.Errorf("log lacks %s:\n%s", msg, stdout.String())
		}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("--heap-snapshot-dir not created: %v", err)
	}
}

// TestRun_SetupFails: a limit or endpoint that cannot be set up exits 2
// with no child started (the command does not exist: starting it would
// give 127).
func TestRun_SetupFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"endpoint address in use":   {"--health-addr", busy.Addr().String()},
		"listen address in use":     {"--health-addr", "", "--listen", busy.Addr().String()},
		"snapshot dir under a file": {"--heap-snapshot-dir", filepath.Join(file, "dir")},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			var stdout, stderr strings.Builder
			args := append(append([]string{"crinit", "--log-format", "json", "--nofile", "0"}, args...), "--", "/nonexistent/crinit-test-command")
			if code := run(args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit status %d, want %d\n%s", code, exitUsage, stdout.String())
			}
			if strings.Contains(stdout.String(), `"child started"`) || !strings.Contains(stdout.String(), `"@level":"error"`) {
				t.Errorf("want an error and no child:\n%s", stdout.String())
			}
		})
	}
}

// TestRun_Listen: with --listen the child, started through the exec shim,
// finds the held socket as fd 3 with LISTEN_PID naming itself; it exits 7
// when all is so.
func TestRun_Listen(t *testing.T) {
	clearEnv(t)
	var stdout, stderr strings.Builder
	check := `[ "$LISTEN_PID" = "$$" ] && [ "$LISTEN_FDS" = 1 ] && [ -n "$CRINIT_NOTIFY_FD" ] && ` +
		`[ "$(readlink /proc/$$/fd/3 | cut -c1-7)" = "socket:" ] && exit 7; exit 1`
	code := run([]string{"crinit", "--log-format", "json", "--health-addr", "", "--nofile", "0", "--restart", "never",
		"--listen", "unix://" + filepath.Join(t.TempDir(), "app.sock"), "--", "sh", "-c", check}, &stdout, &stderr)
	if code != 7 {
		t.Fatalf("exit status %d, want 7 from a child that saw the protocol; stderr %q\n%s", code, stderr.String(), stdout.String())
	}
	if !strings.Contains(stdout.String(), `"socket held"`) {
		t.Errorf("log lacks socket held:\n%s", stdout.String())
	}
}

// TestProtectSelf: crinit lowers its own oom_score_adj to -1000 where it
// may, and says so; where it may not (root without CAP_SYS_RESOURCE, as
// on this machine kind), a cgroup with memory.oom.group=1 gets the warning
// and one without only a debug line. Whether crinit may is read from its
// capabilities.
func TestProtectSelf(t *testing.T) {
	before, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile("/proc/self/oom_score_adj", before, 0) })
	for _, group := range []bool{true, false} {
		t.Run(map[bool]string{true: "oom group", false: "no group"}[group], func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "memory.oom.group"), []byte(map[bool]string{true: "1\n", false: "0\n"}[group]), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &buf, JSONFormat: true})
			protectSelf(&cgroup.Cgroup{Version: 2, Dir: dir, Mount: dir}, 100, 200, log)
			now, _ := os.ReadFile("/proc/self/oom_score_adj")
			lowered := strings.TrimSpace(string(now)) == "-1000"
			if may := testmain.HasCapability(t, unix.CAP_SYS_RESOURCE); lowered != may {
				t.Errorf("oom_score_adj now %s with CAP_SYS_RESOURCE %v: want -1000 exactly when crinit may set it", now, may)
			}
			want := map[[2]bool]string{
				{true, true}: "oom group kill spares crinit", {true, false}: "own oom_score_adj lowered",
				{false, true}: "oom group kill ends crinit with the child", {false, false}: "own oom_score_adj kept",
			}[[2]bool{lowered, group}]
			var e map[string]any
			if err := json.Unmarshal(buf.Bytes(), &e); err != nil || e["@message"] != want {
				t.Errorf("logged %q (%v), want one line %q (oom_score_adj now %s)", buf.String(), err, want, now)
			}
			if !lowered && group && e["setting"] != "memory.oom.group" {
				t.Errorf("warning %v does not name memory.oom.group", e)
			}
			_ = os.WriteFile("/proc/self/oom_score_adj", before, 0)
		})
	}
}
