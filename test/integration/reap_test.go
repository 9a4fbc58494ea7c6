package integration

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestReap_ThousandsOfOrphans(t *testing.T) {
	const n = 3000
	c := startCrinit(t, runOpts{ns: true}, append([]string{"--"}, helperCmd(t, "orphans", strconv.Itoa(n))...)...)
	c.waitPrefix("spawned")
	if l := c.waitPrefix("zombies"); l != "zombies 0" {
		t.Errorf("child saw %q, want no zombie left", l)
	}
	e := c.waitEvent("shutdown")
	if got := e.num("orphans_reaped"); got < n {
		t.Errorf("orphans_reaped = %d, want at least %d", got, n)
	}
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
}

// Outside a PID namespace crinit is not PID 1; as a child subreaper it
// still adopts the orphans of its tree and kills them as remnants.
func TestReap_SubreaperOutsideNamespace(t *testing.T) {
	require(t, "sh", func() bool { _, err := exec.LookPath("sh"); return err == nil }())
	c := startCrinit(t, runOpts{}, append([]string{"--"}, helperCmd(t, "reparent")...)...)
	f := strings.Fields(c.waitPrefix("reparent "))
	if len(f) != 4 {
		t.Fatalf("bad reparent line %q", f)
	}
	if want := strconv.Itoa(c.pid()); f[3] != want {
		t.Errorf("orphan's parent is %s, want crinit (%s)", f[3], want)
	}
	e := c.waitEvent("remnant killed")
	if strconv.Itoa(e.num("pid")) != f[1] || e.str("command") != "sleep 60" {
		t.Errorf("remnant event %v, want pid %s command \"sleep 60\"", e, f[1])
	}
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	if alive(f[1]) {
		t.Errorf("orphan %s still alive after crinit exited", f[1])
	}
}
