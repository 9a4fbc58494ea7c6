package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// alive reports whether pid exists and is not a zombie.
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(s[strings.LastIndexByte(s, ')')+1:], " Z")
}

// Run without a PID namespace: there the kernel would kill every remnant
// when crinit, its PID 1, exits, and the test could not tell crinit did it.
func TestRemnants_KilledWhenChildExits(t *testing.T) {
	c := startCrinit(t, runOpts{}, append([]string{"--remnant-timeout", "300ms", "--"}, helperCmd(t, "remnants")...)...)
	pids := strings.Fields(strings.TrimPrefix(c.waitPrefix("remnants "), "remnants "))
	if len(pids) != 3 {
		t.Fatalf("helper reported %v, want 3 pids", pids)
	}
	c.waitEvent("child exited")
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	signals := map[string][]string{}
	for _, e := range c.events("remnant killed") {
		pid := strconv.Itoa(e.num("pid"))
		signals[pid] = append(signals[pid], e.str("signal"))
		if !strings.HasPrefix(e.str("command"), "sleep 30") {
			t.Errorf("remnant %s command %q, want sleep 30x", pid, e.str("command"))
		}
	}
	want := map[string]string{pids[0]: "SIGTERM", pids[1]: "SIGTERM", pids[2]: "SIGTERM SIGKILL"}
	for pid, sigs := range want {
		if got := strings.Join(signals[pid], " "); got != sigs {
			t.Errorf("remnant %s got %q, want %q", pid, got, sigs)
		}
		if alive(pid) {
			t.Errorf("remnant %s still alive after crinit exited", pid)
		}
	}
}
