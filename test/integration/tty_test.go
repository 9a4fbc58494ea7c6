package integration

import (
	"strings"
	"testing"
)

// On a terminal the child's process group takes the foreground, so the
// terminal's Ctrl-C reaches the child directly, as under docker run -it.
func TestTTY_ChildInForeground(t *testing.T) {
	c := startCrinit(t, runOpts{tty: true}, append([]string{"--"}, helperCmd(t, "signals", "report-tty")...)...)
	f := strings.Fields(c.waitPrefix("child tty "))
	if len(f) != 6 || f[3] != f[5] {
		t.Fatalf("child reports %q, want its process group to be the terminal's foreground group", f)
	}
	if _, err := c.stdin.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatalf("type Ctrl-C: %v", err)
	}
	c.waitPrefix("child got 2")
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	if e := c.events("child started"); len(e) != 1 || e[0]["foreground"] != true {
		t.Errorf("child started events %v, want one with foreground true", e)
	}
	if n := len(c.events("signal forwarded")); n != 0 {
		t.Errorf("crinit forwarded %d signals; the terminal should have signalled the child itself", n)
	}
}

// A child that dies of the terminal's Ctrl-C was stopped by the user: crinit
// exits with its status instead of restarting it.
func TestTTY_CtrlCStopsInsteadOfRestart(t *testing.T) {
	c := startCrinit(t, runOpts{tty: true}, "--restart", "always", "--", "sh", "-c", "echo ready; exec sleep 60")
	c.waitPrefix("ready")
	if _, err := c.stdin.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatalf("type Ctrl-C: %v", err)
	}
	if got := c.wait(); got != 130 {
		t.Errorf("exit code = %d, want 130 (SIGINT)", got)
	}
	if n := len(c.events("child started")); n != 1 {
		t.Errorf("%d starts, want 1: Ctrl-C must not restart", n)
	}
}
