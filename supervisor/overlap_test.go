package supervisor

import (
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/sampler"
)

// listenConfig is testConfig with a held socket, readiness awaited and
// overlapped restarts, as --listen sets it up for a node child.
func listenConfig() Config {
	cfg := testConfig()
	cfg.Files = []*os.File{os.Stdin} // any descriptor: the fake host passes nothing on
	cfg.Notify, cfg.AwaitReady, cfg.ReadyTimeout = true, true, 10*time.Second
	cfg.Overlap = true
	cfg.RSSLimit, cfg.RSSGrace = 200*mib, 1
	return cfg
}

// ready makes pid say READY=1 and waits until the loop is idle.
func (r *rig) ready(pid int) {
	r.t.Helper()
	if err := r.h.notify(pid, "READY=1"); err != nil {
		r.t.Fatalf("notify %d: %v", pid, err)
	}
	synctest.Wait()
}

// leak hands the loop a sample in which pid's tree holds rss.
func (r *rig) leak(pid int, rss uint64) {
	r.sample(sampler.Sample{RSS: rss, Procs: []sampler.Proc{{PID: pid, PPID: fakeSelf, RSS: rss}}})
}

// startOverlap starts a ready child with 100 MiB at ready and takes it
// over the RSS limit: an overlapped restart begins (unless mem, the
// cgroup, has no room). It returns the old child.
func startOverlap(t *testing.T, mem *cgroup.Memory) (*rig, int) {
	t.Helper()
	r := startRig(t, listenConfig(), func(h *fakeHost) { h.child, h.mem = nodeLike, mem })
	old := r.child()
	r.ready(old)
	r.leak(old, 100*mib)
	r.leak(old, 250*mib)
	return r, old
}

// TestOverlap_RSSLimit: a leak restart starts the next child first; the
// old one keeps serving, and is stopped once the new one is ready. No
// backoff, one restart in the budget, ready throughout.
func TestOverlap_RSSLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, listenConfig(), func(h *fakeHost) { h.child = nodeLike })
		old := r.child()
		if st := r.s.Status(); st.State != StateStarting || st.Ready() {
			t.Fatalf("before READY=1: state %s ready %v, want starting, not ready", st.State, st.Ready())
		}
		r.ready(old)
		r.leak(old, 100*mib)
		r.leak(old, 250*mib)
		pids := r.h.pids()
		if len(pids) != 2 {
			t.Fatalf("starts %v, want the next child started at once", pids)
		}
		r.leak(old, 260*mib) // still over: it serves on until its successor is ready
		st := r.s.Status()
		if got := r.h.sentTo(-old); len(got) != 0 || !st.Ready() || st.Child.PID != old || len(st.Children) != 2 {
			t.Fatalf("during the overlap: signals %v, ready %v, child %+v, children %d; want the old one serving alone", got, st.Ready(), st.Child, len(st.Children))
		}
		r.ready(pids[1])
		if got := r.h.sentTo(-old); len(got) != 1 || got[0] != syscall.SIGTERM {
			t.Fatalf("signals to the old group %v, want SIGTERM once the new child is ready", got)
		}
		st = r.s.Status()
		if st.Child == nil || st.Child.PID != pids[1] || st.Child.Generation != 2 || len(st.Children) != 1 || !st.Ready() {
			t.Errorf("after the overlap: %+v, want generation 2 alone, ready", st)
		}
		if st.RestartsByReason[ReasonRSSLimit] != 1 || st.RestartsInWindow != 1 || st.ExitsByReason[ReasonRSSLimit] != 1 {
			t.Errorf("counts %+v, want one rss_limit restart in the budget", st)
		}
		r.has("child ready", "rss limit exceeded", "overlap started", "child started", "child ready", "stopping child",
			"child exited", "old child drained")
		r.stop()
	})
}

// TestOverlap_Skipped: with too little room in the cgroup the old child
// is stopped first; the restart still takes no backoff delay.
func TestOverlap_Skipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startOverlap(t, &cgroup.Memory{Limit: 512 * mib, Usage: 450 * mib}) // needs the 100 MiB at ready
		if e := r.find("overlap skipped"); len(e) != 1 || e[0]["headroom_bytes"] != float64(62*mib) || e[0]["needed_bytes"] != float64(100*mib) {
			t.Fatalf("overlap skipped events %v, want one with 62 MiB of headroom for 100 MiB", e)
		}
		if pids := r.h.pids(); len(pids) != 2 {
			t.Fatalf("starts %v, want the restart right after the old child's exit", pids)
		}
		if e := r.find("child exited"); len(e) != 1 || e[0]["next_delay_ms"] != 0.0 {
			t.Errorf("child exited %v, want no backoff delay", e)
		}
		r.stop()
	})
}

// TestOverlap_NewChildFails: a successor that dies before it is ready
// leaves the old child serving; the next one, ready, replaces it.
func TestOverlap_NewChildFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, old := startOverlap(t, nil)
		r.h.exit(r.h.pids()[1], exited(1))
		synctest.Wait()
		if got := r.h.sentTo(-old); len(got) != 0 || !r.s.Status().Ready() {
			t.Fatalf("old child signalled %v or not ready after its successor failed", got)
		}
		r.sleep(time.Second) // the backoff after a failure
		pids := r.h.pids()
		if len(pids) != 3 {
			t.Fatalf("starts %v, want a third child after the backoff", pids)
		}
		r.ready(pids[2])
		if got := r.h.sentTo(-old); len(got) != 1 || got[0] != syscall.SIGTERM {
			t.Fatalf("signals to the old group %v, want SIGTERM", got)
		}
		r.stop()
	})
}

// TestOverlap_Shutdown: a SIGTERM during an overlap stops both children,
// and crinit exits once both are gone.
func TestOverlap_Shutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, old := startOverlap(t, nil)
		next := r.h.pids()[1]
		r.signal(syscall.SIGTERM)
		if a, b := r.h.sentTo(-old), r.h.sentTo(-next); len(a) != 1 || len(b) != 1 {
			t.Fatalf("signals %v to the old, %v to the new; want SIGTERM to both", a, b)
		}
		if code := r.exitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if n := len(r.s.Status().Children); n != 0 {
			t.Errorf("%d children left at exit", n)
		}
	})
}

// TestReady_Timeout: a child that never says READY=1 is a failed start.
func TestReady_Timeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, listenConfig(), func(h *fakeHost) { h.child = nodeLike })
		r.sleep(10*time.Second - time.Millisecond)
		if st := r.s.Status().State; st != StateStarting {
			t.Fatalf("state %s before the ready timeout, want starting", st)
		}
		r.sleep(time.Millisecond)
		if reason, _ := r.lastExit(); reason != ReasonNotReady {
			t.Errorf("last exit %s, want not_ready", reason)
		}
		r.has("child not ready", "stopping child", "child exited")
		if e := r.find("child exited"); len(e) != 1 || e[0]["next_delay_ms"] != 1000.0 {
			t.Errorf("child exited %v, want the failure's backoff", e)
		}
		r.stop()
	})
}

// TestNotes: unheld addresses are warned of once; notes of a generation
// that is gone, or unknown words, change nothing.
func TestNotes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, listenConfig(), func(h *fakeHost) { h.child = nodeLike })
		pid := r.child()
		for _, msg := range []string{"CRINIT_UNHELD=tcp://127.0.0.1:9000", "CRINIT_UNHELD=tcp://127.0.0.1:9000", "STATUS=busy", "READY=0"} {
			if err := r.h.notify(pid, msg); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if e := r.find("listen not held"); len(e) != 1 || e[0]["address"] != "tcp://127.0.0.1:9000" {
			t.Errorf("listen not held events %v, want one", e)
		}
		if st := r.s.Status().State; st != StateStarting {
			t.Errorf("state %s, want starting: READY=0 is not ready", st)
		}
		r.ready(pid)
		if err := r.h.notify(pid, "CRINIT_STOPPING=1"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.has("child ready", "child stopping gracefully")
		r.stop()
	})
}

// TestReady_Probe: with a probe and no READY=1, the first passing probe
// makes a new child ready.
func TestReady_Probe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := listenConfig()
		cfg.Probe, cfg.ProbeInterval, cfg.ProbePolicy.Retries = newTestProber(t), 10*time.Second, 3
		r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
		r.probe(false)
		if st := r.s.Status().State; st != StateStarting {
			t.Fatalf("state %s after a failed probe, want starting", st)
		}
		r.probe(true)
		if st := r.s.Status(); st.State != StateRunning || !st.Ready() {
			t.Errorf("after a passing probe: state %s ready %v, want running and ready", st.State, st.Ready())
		}
		r.stop()
	})
}

// TestReady_NotifySocket: READY=1 on NOTIFY_SOCKET counts from the child
// itself, not from another process.
func TestReady_NotifySocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, listenConfig(), func(h *fakeHost) { h.child = nodeLike })
		pid := r.child()
		r.notes <- note{pid: pid + 1000, msg: "READY=1"}
		synctest.Wait()
		if st := r.s.Status().State; st != StateStarting {
			t.Fatalf("state %s after READY=1 from a stranger, want starting", st)
		}
		r.notes <- note{pid: pid, msg: "READY=1"}
		synctest.Wait()
		if st := r.s.Status().State; st != StateRunning {
			t.Errorf("state %s after the child's READY=1, want running", st)
		}
		r.stop()
	})
}

// TestOverlap_CutShort: when the cgroup runs out of room for both while
// the successor starts, the old child is stopped at once.
func TestOverlap_CutShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, old := startOverlap(t, &cgroup.Memory{Limit: 1024 * mib, Usage: 300 * mib})
		if n := len(r.h.pids()); n != 2 {
			t.Fatalf("%d starts, want an overlap", n)
		}
		r.h.mu.Lock()
		r.h.mem.Usage = 1000 * mib
		r.h.mu.Unlock()
		r.leak(old, 300*mib)
		if got := r.h.sentTo(-old); len(got) != 1 || got[0] != syscall.SIGTERM {
			t.Fatalf("signals to the old group %v, want SIGTERM once room ran out", got)
		}
		r.has("overlap started", "overlap cut short", "stopping child")
		r.stop()
	})
}
