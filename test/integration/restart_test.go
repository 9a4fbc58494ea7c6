package integration

import (
	"syscall"
	"testing"
	"time"
)

// A crash loop spends the budget quickly with a short backoff; crinit then
// exits with the last child's status for the orchestrator to act on.
func TestRestart_CrashLoopExhaustsBudget(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true},
		"--restart-max", "3", "--restart-window", "1m", "--restart-delay", "20ms", "--restart-delay-max", "80ms",
		"--", "sh", "-c", "exit 3")
	e := c.waitEvent("restart budget exhausted")
	if e.num("restarts") != 3 || e.num("restart_max") != 3 || e.str("last_reason") != "exit" || e.num("exit_code") != 3 {
		t.Errorf("budget event %v, want 3 of 3 restarts, last reason exit, exit_code 3", e)
	}
	if got := c.wait(); got != 3 {
		t.Errorf("exit code = %d, want 3", got)
	}
	exits := c.events("child exited")
	if len(exits) != 4 || len(c.events("child started")) != 4 {
		t.Fatalf("%d exits and %d starts, want 4 of each", len(exits), len(c.events("child started")))
	}
	for i, want := range []int{20, 40, 80} {
		if got := exits[i].num("next_delay_ms"); got != want {
			t.Errorf("exit %d next_delay_ms = %d, want %d", i+1, got, want)
		}
		if got := exits[i].num("restarts_in_window"); got != i+1 {
			t.Errorf("exit %d restarts_in_window = %d, want %d", i+1, got, i+1)
		}
	}
	if last := exits[3]; last.str("restart") != "budget exhausted" || last.str("reason") != "exit" {
		t.Errorf("last exit %v, want reason exit and restart \"budget exhausted\"", last)
	}
}

func TestRestart_Policies(t *testing.T) {
	for _, tc := range []struct {
		policy string
		script string
		starts int // with --restart-max 1
		code   int
	}{
		{"on-failure", "exit 0", 1, 0},
		{"on-failure", "exit 4", 2, 4},
		{"on-failure", "kill -KILL $$", 2, 137},
		{"always", "exit 0", 2, 1}, // budget spent: a failure for the orchestrator, even after exit 0
		{"never", "exit 4", 1, 4},
	} {
		t.Run(tc.policy+" "+tc.script, func(t *testing.T) {
			c := startCrinit(t, runOpts{ns: true}, "--restart", tc.policy, "--restart-max", "1", "--restart-delay", "10ms",
				"--", "sh", "-c", tc.script)
			if got := c.wait(); got != tc.code {
				t.Errorf("exit code = %d, want %d", got, tc.code)
			}
			if got := len(c.events("child started")); got != tc.starts {
				t.Errorf("%d starts, want %d", got, tc.starts)
			}
		})
	}
}

// A shutdown signal during the backoff wait ends crinit at once.
func TestRestart_ShutdownDuringBackoff(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, "--restart-delay", "1m", "--restart-delay-max", "1m", "--", "sh", "-c", "exit 5")
	if e := c.waitEvent("child exited"); e.num("next_delay_ms") != 60000 {
		t.Fatalf("child exited %v, want next_delay_ms 60000", e)
	}
	start := time.Now()
	c.signal(syscall.SIGTERM)
	c.waitEvent("shutdown requested during backoff")
	if got := c.wait(); got != 5 {
		t.Errorf("exit code = %d, want the last child's 5", got)
	}
	t.Logf("exit %v after SIGTERM", time.Since(start))
	if n := len(c.events("child started")); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// The reload signal restarts the child through the stop sequence, outside
// the budget, instead of being forwarded.
func TestRestart_ReloadSignal(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true},
		append([]string{"--reload-signal", "SIGHUP", "--restart-max", "0", "--"}, helperCmd(t, "signals")...)...)
	first := c.waitPrefix("child ready")
	c.signal(syscall.SIGHUP)
	if l := c.waitPrefix("child got"); l != "child got 15" {
		t.Errorf("child saw %q, want SIGTERM (15), not the reload signal itself", l)
	}
	second := c.waitPrefix("child ready")
	if first == second {
		t.Errorf("the same child %q after reload", second)
	}
	c.signal(syscall.SIGTERM)
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	exits := c.events("child exited")
	if len(exits) != 2 || exits[0].str("reason") != "reload" || exits[0].num("restarts_in_window") != 0 || exits[1].str("reason") != "shutdown" {
		t.Errorf("exits %v, want reload (not counted) then shutdown", exits)
	}
	if n := len(c.events("signal forwarded")); n != 1 {
		t.Errorf("%d signals forwarded, want only the final SIGTERM", n)
	}
}
