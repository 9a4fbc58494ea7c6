package integration

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// forwardedSignals are sent one by one; each must reach the child's handler.
var forwardedSignals = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
	syscall.SIGALRM, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN,
	syscall.SIGTTOU, syscall.SIGPWR, syscall.SIGVTALRM,
	// Real-time signals from 35 (glibc's SIGRTMIN+1) up: the Go runtime
	// cannot catch 32 to 34, see README.
	syscall.Signal(35), syscall.Signal(34 + 6), syscall.Signal(64),
}

func TestSignals_ForwardedToChild(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--"}, helperCmd(t, "signals")...)...)
	c.waitPrefix("child ready")
	for _, sig := range forwardedSignals {
		c.signal(sig)
		c.waitPrefix(fmt.Sprintf("child got %d", int(sig)))
	}
	c.signal(syscall.SIGTERM)
	c.waitPrefix("child got 15")
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	var forwarded []int
	for _, e := range c.events("signal forwarded") {
		if e.str("to") != "group" {
			t.Errorf("forward event %v, want to group", e)
		}
		forwarded = append(forwarded, e.num("signo"))
	}
	want := fmt.Sprint(append(signos(forwardedSignals), 15))
	if got := fmt.Sprint(forwarded); got != want {
		t.Errorf("forwarded signals %s, want %s", got, want)
	}
	if n := len(c.events("stop timeout, killing child")); n != 0 {
		t.Errorf("%d stop timeouts, want none", n)
	}
}

func TestSignals_ShutdownSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			c := startCrinit(t, runOpts{ns: true}, append([]string{"--"}, helperCmd(t, "signals")...)...)
			c.waitPrefix("child ready")
			c.signal(sig)
			c.waitPrefix(fmt.Sprintf("child got %d", int(sig)))
			if got := c.wait(); got != 0 {
				t.Errorf("exit code = %d, want 0", got)
			}
			e := c.events("shutdown requested")
			if len(e) != 1 || e[0].str("signal") != signalName(sig) || e[0].num("stop_timeout_ms") != 8000 {
				t.Errorf("shutdown events %v, want one for %s with stop_timeout_ms 8000", e, signalName(sig))
			}
		})
	}
}

// The grandchild shares the child's process group. With the default
// target it sees SIGHUP; with --forward-to=child the first signal it sees
// is the SIGTERM of remnant clean-up after the child has gone.
func TestSignals_ForwardTarget(t *testing.T) {
	for _, tc := range []struct {
		target         string
		grandchildSigs []int
	}{
		{"group", []int{int(syscall.SIGHUP)}},
		{"child", []int{int(syscall.SIGTERM)}},
	} {
		t.Run(tc.target, func(t *testing.T) {
			c := startCrinit(t, runOpts{ns: true},
				append([]string{"--forward-to", tc.target, "--"}, helperCmd(t, "signals", "with-grandchild")...)...)
			c.waitPrefix("grandchild ready")
			c.signal(syscall.SIGHUP)
			c.waitPrefix("child got 1")
			if tc.target == "child" {
				c.signal(syscall.SIGTERM)
			}
			l := c.firstPrefix("grandchild got")
			if want := fmt.Sprintf("grandchild got %d", tc.grandchildSigs[0]); l != want {
				t.Errorf("grandchild's first signal line %q, want %q", l, want)
			}
			if tc.target == "group" {
				c.signal(syscall.SIGTERM)
			}
			if got := c.wait(); got != 0 {
				t.Errorf("exit code = %d, want 0", got)
			}
			for _, e := range c.events("signal forwarded") {
				if e.str("to") != tc.target {
					t.Errorf("forward event %v, want to %q", e, tc.target)
				}
			}
		})
	}
}

func TestShutdown_SlowChildIsWaitedFor(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--stop-timeout", "5s", "--"}, helperCmd(t, "slowterm")...)...)
	c.waitPrefix("slowterm ready")
	start := time.Now()
	c.signal(syscall.SIGTERM)
	c.waitPrefix("slowterm stopping")
	c.waitPrefix("slowterm done")
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0 (the child's own)", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("crinit exited %v after SIGTERM, before the child's 1s shutdown", d)
	}
	if n := len(c.events("stop timeout, killing child")); n != 0 {
		t.Errorf("%d stop timeouts, want none", n)
	}
}

func TestShutdown_IgnoringChildIsKilled(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--stop-timeout", "500ms", "--"}, helperCmd(t, "ignoreterm")...)...)
	c.waitPrefix("ignoreterm ready")
	c.signal(syscall.SIGTERM)
	if got := c.wait(); got != 137 {
		t.Errorf("exit code = %d, want 137", got)
	}
	if e := c.events("stop timeout, killing child"); len(e) != 1 || e[0].num("timeout_ms") != 500 {
		t.Errorf("stop timeout events %v, want one with timeout_ms 500", e)
	}
	if e := c.events("child exited"); len(e) != 1 || e[0].str("signal") != "SIGKILL" {
		t.Errorf("child exited events %v, want one with signal SIGKILL", e)
	}
}

func signos(sigs []syscall.Signal) []int {
	out := make([]int, len(sigs))
	for i, s := range sigs {
		out[i] = int(s)
	}
	return out
}

// signalName is how crinit names the shutdown signals in its log.
func signalName(sig syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT"}[sig]
}

// SIGPIPE is crinit's own (a write to a closed stdout): it is not
// forwarded, or every log line about it would raise the next one.
func TestSignals_SIGPIPENotForwarded(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--"}, helperCmd(t, "signals")...)...)
	c.waitPrefix("child ready")
	c.signal(syscall.SIGPIPE)
	c.signal(syscall.SIGUSR1)
	if l := c.waitPrefix("child got"); l != "child got 10" {
		t.Errorf("the child's first signal: %q, want SIGUSR1 (10): SIGPIPE must not be forwarded", l)
	}
	c.signal(syscall.SIGTERM)
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
}
