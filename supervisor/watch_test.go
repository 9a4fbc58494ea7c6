package supervisor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/sampler"
)

// TestWatch_RSS: crossing the warn level logs, raises the tree's
// oom_score_adj and asks node for a heap snapshot; the limit held for the
// grace restarts the child with reason rss_limit.
func TestWatch_RSS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		for _, old := range []string{"Heap.20000101.000001.1.0.001.heapsnapshot", "Heap.20000101.000002.1.0.002.heapsnapshot"} {
			if err := os.WriteFile(filepath.Join(dir, old), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cfg := testConfig()
		cfg.Argv = []string{"node", snapshotFlag, "server.js"}
		cfg.RSSLimit, cfg.RSSWarn = 200*mib, 100*mib
		cfg.HeapSnapshotDir, cfg.HeapSnapshotKeep = dir, 2
		r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
		pid := r.child()
		worker := r.h.spawn(pid, "sh -c cat", nil)
		tree := func(rss uint64) sampler.Sample {
			return sampler.Sample{RSS: rss, RSSSum: rss, Procs: []sampler.Proc{{PID: pid, RSS: rss - mib}, {PID: worker, RSS: mib}}}
		}

		r.sample(sampler.Sample{At: time.Now().Add(-time.Hour), RSS: 300 * mib, Procs: []sampler.Proc{{PID: pid}}})
		if st := r.s.Status(); st.Tree != nil {
			t.Fatalf("a sample from before the child started was used: %+v", st.Tree)
		}
		r.sample(tree(150 * mib))
		if got := r.h.sentTo(pid); len(got) != 1 || got[0] != syscall.SIGUSR2 {
			t.Errorf("signals to node %v, want SIGUSR2 for a heap snapshot", got)
		}
		if got := r.h.sentTo(worker); len(got) != 0 {
			t.Errorf("signals to the shell %v, want none: it takes no snapshot", got)
		}
		if adj := r.h.procs[worker].oomAdj; adj != 500 {
			t.Errorf("worker oom_score_adj %d, want raised to 500", adj)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*.heapsnapshot")); len(left) != 1 {
			t.Errorf("snapshots left %v, want room made for one more of 2", left)
		}
		r.has("rss warning", "heap snapshot removed", "heap snapshot requested")
		if st := r.s.Status(); st.Tree == nil || st.Tree.RSSBytes != 150*mib || st.Tree.Processes != 2 {
			t.Errorf("tree status %+v, want 150 MiB over 2 processes", st.Tree)
		}

		r.sample(tree(250 * mib))
		if st := r.s.Status().State; st != StateRunning {
			t.Fatalf("state %s after one sample over the limit, want running within the grace", st)
		}
		r.sample(tree(250 * mib))
		if reason, code := r.lastExit(); reason != ReasonRSSLimit || code != 0 {
			t.Errorf("last exit %s %d, want rss_limit 0", reason, code)
		}
		r.has("rss limit exceeded", "stopping child", "child exited")
		if n := len(r.find("rss warning")); n != 1 {
			t.Errorf("%d rss warnings, want 1", n)
		}
		r.sleep(time.Minute)
		if n := len(r.h.pids()); n != 2 {
			t.Errorf("%d starts, want a restart after rss_limit", n)
		}
		r.stop()
	})
}

// TestWatch_FDs: a process past the fd warning is named once; one at the
// fd limit restarts the child with reason fd_limit.
func TestWatch_FDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.FDWarn, cfg.FDLimit = limits.Threshold{Percent: 80}, limits.Threshold{Amount: 1000}
		r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
		pid := r.child()
		fds := func(n int) sampler.Sample {
			return sampler.Sample{Procs: []sampler.Proc{{PID: pid, FDs: n, FDLimit: 1024}, {PID: pid + 50, FDs: -1, FDLimit: 1024}}}
		}
		r.sample(fds(900))
		r.sample(fds(910))
		if e := r.find("fd warning"); len(e) != 1 || e[0]["fds"] != 900.0 {
			t.Errorf("fd warnings %v, want one at 900", e)
		}
		if st := r.s.Status(); st.Tree == nil || st.Tree.FDs != 910 || st.Tree.MaxFDs != 910 {
			t.Errorf("tree status %+v, want 910 fds", st.Tree)
		}
		r.sample(fds(1000))
		if reason, _ := r.lastExit(); reason != ReasonFDLimit {
			t.Errorf("last exit %s, want fd_limit", reason)
		}
		r.stop()
	})
}

// TestWatch_Probe: failures inside the start period do not count; a
// success ends it and slows the prober down; retries failures in a row
// restart the child with reason probe.
func TestWatch_Probe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Probe = newTestProber(t)
		cfg.ProbeInterval, cfg.ProbeStartInterval = 10*time.Second, time.Second
		cfg.ProbePolicy = probe.Policy{Retries: 2, StartPeriod: 30 * time.Second}
		r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
		r.probe(false)
		if got := <-r.s.probeIvl; got != time.Second {
			t.Errorf("probe interval in the start period %s, want 1s", got)
		}
		if e := r.find("probe failed"); len(e) != 1 || e[0]["@level"] != "debug" {
			t.Errorf("probe failures %v, want one at debug level", e)
		}
		if st := r.s.Status(); st.Ready() || st.Probe.State != ProbeStarting {
			t.Errorf("probe %+v ready %v, want starting, not ready", st.Probe, st.Ready())
		}
		r.probe(true)
		if got := <-r.s.probeIvl; got != 10*time.Second {
			t.Errorf("probe interval after the start period %s, want 10s", got)
		}
		if st := r.s.Status(); !st.Ready() || st.Probe.State != ProbeHealthy {
			t.Errorf("probe %+v ready %v, want healthy and ready", st.Probe, st.Ready())
		}
		r.probe(false)
		if st := r.s.Status().State; st != StateRunning {
			t.Fatalf("state %s after one failure of 2, want running", st)
		}
		r.probe(false)
		if reason, _ := r.lastExit(); reason != ReasonProbe {
			t.Errorf("last exit %s, want probe", reason)
		}
		r.has("probe failed", "probe healthy", "probe failed", "probe unhealthy, restarting child", "child exited")
		r.stop()
	})
}
