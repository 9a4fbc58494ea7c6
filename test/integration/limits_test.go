package integration

import (
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/crinit/crinit/internal/testmain"
)

func TestLimits_NofileSeenByChild(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "8192 8192"},
		{"flag", []string{"--nofile", "4096"}, "4096 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--", "sh", "-c",
				`awk '/Max open files/ {print "nofile", $4, $5}' /proc/self/limits`)
			c := startCrinit(t, runOpts{ns: true}, args...)
			if l := c.waitPrefix("nofile "); l != "nofile "+tc.want {
				t.Errorf("child's /proc/self/limits: %q, want %q", l, "nofile "+tc.want)
			}
			if got := c.wait(); got != 0 {
				t.Errorf("exit code = %d, want 0", got)
			}
		})
	}
}

// Raising the hard limit works with CAP_SYS_RESOURCE and is refused, with
// exit 2 and the child never started, without it.
func TestLimits_NofileAboveHardLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatUint(lim.Max+1024, 10)
	c := startCrinit(t, runOpts{ns: true}, "--nofile", want, "--", "sh", "-c",
		`awk '/Max open files/ {print "nofile", $4, $5}' /proc/self/limits`)
	if testmain.HasCapability(t, 24) { // CAP_SYS_RESOURCE
		if l := c.waitPrefix("nofile "); l != "nofile "+want+" "+want {
			t.Errorf("child's /proc/self/limits: %q, want %s for both", l, want)
		}
		if got := c.wait(); got != 0 {
			t.Errorf("exit code = %d, want 0", got)
		}
		return
	}
	e := c.waitEvent("limit not applied")
	if e.str("flag") != "--nofile" || e.num("value") != int(lim.Max+1024) || !strings.Contains(e.str("error"), "CAP_SYS_RESOURCE") {
		t.Errorf("limit event %v, want --nofile %s refused for lack of CAP_SYS_RESOURCE", e, want)
	}
	if got := c.wait(); got != 2 {
		t.Errorf("exit code = %d, want 2", got)
	}
	if n := len(c.events("child started")); n != 0 {
		t.Errorf("child started %d times, want never", n)
	}
}

// nodeReport prints what node itself sees of its heap limit.
const nodeReport = `console.log("node " + JSON.stringify({execArgv: process.execArgv, ` +
	`nodeOptions: process.env.NODE_OPTIONS || "", heapMiB: require("v8").getHeapStatistics().heap_size_limit / 1048576}))`

type nodeSeen struct {
	ExecArgv    []string
	NodeOptions string
	HeapMiB     float64
}

func TestLimits_NodeHeapFlag(t *testing.T) {
	requireNode(t)
	for _, tc := range []struct {
		name     string
		env      []string
		args     []string
		execArgv string // joined
		options  string
		heapMiB  float64 // the old-space limit asked for; V8 adds its young generation
	}{
		{"node direct", nil, []string{"--", "node", "-e", nodeReport},
			"--max-old-space-size=256 -e " + nodeReport, "", 256},
		{"through sh gets NODE_OPTIONS", nil, []string{"--max-old-space-size", "192", "--", "sh", "-c", `exec node -e '` + nodeReport + `'`},
			"-e " + nodeReport, "--max-old-space-size=192", 192},
		{"user flag in argv wins", nil, []string{"--", "node", "--max-old-space-size=160", "-e", nodeReport},
			"--max-old-space-size=160 -e " + nodeReport, "", 160},
		{"user flag in NODE_OPTIONS wins", []string{"NODE_OPTIONS=--max-old-space-size=320"}, []string{"--", "node", "-e", nodeReport},
			"-e " + nodeReport, "--max-old-space-size=320", 320},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCrinit(t, runOpts{ns: true, env: tc.env}, tc.args...)
			var seen nodeSeen
			if err := json.Unmarshal([]byte(strings.TrimPrefix(c.waitPrefix("node "), "node ")), &seen); err != nil {
				t.Fatalf("node's report: %v", err)
			}
			if got := strings.Join(seen.ExecArgv, " "); got != tc.execArgv {
				t.Errorf("execArgv %q, want %q", got, tc.execArgv)
			}
			if seen.NodeOptions != tc.options {
				t.Errorf("NODE_OPTIONS %q, want %q", seen.NodeOptions, tc.options)
			}
			// heap_size_limit is old space plus young generation (a few
			// dozen MiB); without the flag it would be gigabytes here.
			if seen.HeapMiB < tc.heapMiB || seen.HeapMiB > tc.heapMiB+128 {
				t.Errorf("heap_size_limit %.0f MiB, want %v MiB plus V8's young generation", seen.HeapMiB, tc.heapMiB)
			}
			if got := c.wait(); got != 0 {
				t.Errorf("exit code = %d, want 0", got)
			}
		})
	}
}
