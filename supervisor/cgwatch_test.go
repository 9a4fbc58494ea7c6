package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/sampler"
)

// withCgroup gives the fake host a cgroup reading: limit, and the
// counters crinit finds at start.
func withCgroup(limit uint64, ev cgroup.Events) func(h *fakeHost) {
	return func(h *fakeHost) {
		h.mem = &cgroup.Memory{Limit: limit, Events: ev, OOMKills: ev.OOMKill}
		h.child = nodeLike
	}
}

// memEvents hands the loop a reading of the event counters, as the watch
// does.
func (r *rig) memEvents(ev cgroup.Events) {
	r.memEv <- ev
	synctest.Wait()
}

// cgSample is a sample of pid's tree with a cgroup reading.
func cgSample(m cgroup.Memory, procs ...sampler.Proc) sampler.Sample {
	smp := sampler.Sample{Procs: procs, Cgroup: &m}
	for _, p := range procs {
		smp.RSS += p.RSS
	}
	return smp
}

// TestOOMKill_Grandchild: an OOM kill of a process the child forked is
// logged when the counter rises, naming the victim, which is still in the
// tree with SIGKILL pending; kills before crinit started are not.
func TestOOMKill_Grandchild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), withCgroup(512*mib, cgroup.Events{OOMKill: 4}))
		pid := r.child()
		worker := r.h.spawn(pid, "node worker.js", nil)
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib, Events: cgroup.Events{OOMKill: 4}},
			sampler.Proc{PID: pid, RSS: 50 * mib}, sampler.Proc{PID: worker, PPID: pid, RSS: 300 * mib}))
		if got := r.find("oom kill"); len(got) != 0 {
			t.Fatalf("oom kill logged for kills before crinit: %v", got)
		}
		r.h.mu.Lock()
		r.h.procs[worker].dying = true
		r.h.mu.Unlock()
		r.memEvents(cgroup.Events{Max: 9, OOM: 1, OOMKill: 5})
		got := r.find("oom kill")
		if len(got) != 1 {
			t.Fatalf("oom kill events %v, want one", got)
		}
		e := got[0]
		if e["victim_pid"] != float64(worker) || e["victim_command"] != "node worker.js" || e["found_by"] != "dying" ||
			e["victim_rss_bytes"] != float64(300*mib) || e["oom_kills"] != 1.0 || e["@level"] != "warn" {
			t.Errorf("oom kill = %v, want the worker, dying, with its sampled RSS", e)
		}
		if st := r.s.Status(); st.Cgroup == nil || st.Cgroup.Events.OOMKill != 5 || st.Cgroup.Events.Max != 9 {
			t.Errorf("status cgroup %+v, want the new counters", st.Cgroup)
		}
		r.memEvents(cgroup.Events{Max: 9, OOM: 1, OOMKill: 6}) // the same victim, still dying, counted again
		if got := r.find("oom kill"); len(got) != 1 {
			t.Errorf("oom kill events %v after a second count of the same victim, want still one", got)
		}
		r.memEvents(cgroup.Events{Max: 10, OOM: 1, OOMKill: 6}) // max only: nothing to log
		if n := len(r.find("oom kill")); n != 1 {
			t.Errorf("%d oom kill events after a max event, want still 1", n)
		}
		// A sample read before the watch's reading arrives after it: the
		// counters must not go back, nor the kill be logged again.
		stale := cgroup.Memory{Limit: 512 * mib, Events: cgroup.Events{OOMKill: 4}}
		r.sample(cgSample(stale, sampler.Proc{PID: pid, RSS: 50 * mib}))
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib, Events: cgroup.Events{Max: 10, OOM: 1, OOMKill: 6}}, sampler.Proc{PID: pid, RSS: 50 * mib}))
		if n, st := len(r.find("oom kill")), r.s.Status(); n != 1 || st.Cgroup.Events.OOMKill != 6 {
			t.Errorf("%d oom kill events, status oom_kill %d after a stale sample; want 1 and 6", n, st.Cgroup.Events.OOMKill)
		}
		r.h.exit(worker, signaled(syscall.SIGKILL)) // the first victim's end, its parent's to reap
		other := r.h.spawn(pid, "node other.js", func(p *fakeProc) { p.dying = true })
		r.memEvents(cgroup.Events{Max: 10, OOM: 2, OOMKill: 7})
		if got := r.find("oom kill"); len(got) != 2 || got[1]["victim_pid"] != float64(other) {
			t.Errorf("oom kill events %v, want a second one naming %d", got, other)
		}
		r.stop()
	})
}

// TestOOMKill_DyingUnreadable: a sampled victim whose command line can no
// longer be read as it dies is named by the name the sampler read.
func TestOOMKill_DyingUnreadable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), withCgroup(512*mib, cgroup.Events{}))
		pid := r.child()
		worker := r.h.spawn(pid, "", nil)
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib},
			sampler.Proc{PID: pid, RSS: 50 * mib}, sampler.Proc{PID: worker, PPID: pid, RSS: 300 * mib, Comm: "node"}))
		r.h.mu.Lock()
		r.h.procs[worker].dying = true
		r.h.mu.Unlock()
		r.memEvents(cgroup.Events{OOMKill: 1})
		if got := r.find("oom kill"); len(got) != 1 || got[0]["victim_pid"] != float64(worker) || got[0]["victim_command"] != "node" {
			t.Errorf("oom kill %v, want %d named node", got, worker)
		}
		r.stop()
	})
}

// TestOOMKill_VictimGone: when the victim's parent reaped it first, the
// victim is the largest process of the last sample that is gone, not a
// zombie the app leaked long before; the counter rising in a sample (no
// watch) is reported the same.
func TestOOMKill_VictimGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), withCgroup(512*mib, cgroup.Events{}))
		pid := r.child()
		small := r.h.spawn(pid, "sh", nil)
		big := r.h.spawn(pid, "node worker.js", nil)
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib}, sampler.Proc{PID: pid, RSS: 50 * mib},
			sampler.Proc{PID: small, PPID: pid, RSS: mib}, sampler.Proc{PID: big, PPID: pid, RSS: 400 * mib}))
		leaked := r.h.spawn(pid, "defunct", nil) // a zombie of long standing: not a victim
		r.h.mu.Lock()
		delete(r.h.procs, big)
		delete(r.h.procs, small)
		r.h.procs[leaked].alive, r.h.procs[leaked].zombie = false, true
		r.h.mu.Unlock()
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib, Events: cgroup.Events{OOMKill: 1}}, sampler.Proc{PID: pid, RSS: 50 * mib}))
		got := r.find("oom kill")
		if len(got) != 1 || got[0]["victim_pid"] != float64(big) || got[0]["found_by"] != "gone" {
			t.Errorf("oom kill events %v, want one naming %d, gone", got, big)
		}
		r.stop()
	})
}

// TestResize_AutoSizes: a new memory.max re-derives the auto RSS limit at
// once, and the heap of the next child.
func TestResize_AutoSizes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.RSSGrace = 1
		cfg.AutoRSS, cfg.AutoHeap, cfg.RSSWarnAt = true, true, limits.Threshold{Percent: 80}
		cfg.RSSLimit = uint64(limits.AutoRSSLimit(256*mib, 0))
		cfg.RSSWarn, cfg.HeapMiB = cfg.RSSWarnAt.Of(cfg.RSSLimit), 128
		r := startRig(t, cfg, withCgroup(256*mib, cgroup.Events{}))
		pid := r.child()
		if argv := r.h.procs[pid].cmd; !strings.Contains(argv, "--max-old-space-size=128") {
			t.Errorf("first child %q, want the heap flag of 128", argv)
		}
		// 200 MiB is over the old limit (153.6 MiB), under the new one.
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib}, sampler.Proc{PID: pid, RSS: 200 * mib}))
		got := r.find("memory limit changed")
		wantRSS := float64(limits.AutoRSSLimit(512*mib, 0))
		if len(got) != 1 || got[0]["old_limit_bytes"] != float64(256*mib) || got[0]["limit_bytes"] != float64(512*mib) ||
			got[0]["rss_limit_bytes"] != wantRSS || got[0]["next_max_old_space_size_mib"] != 256.0 || got[0]["@level"] != "warn" {
			t.Fatalf("memory limit changed %v, want 256 MiB to 512 MiB, rss limit %v, heap 256", got, wantRSS)
		}
		if r.s.Status().LastExit != nil {
			t.Fatalf("child stopped at 200 MiB under the new limit: %v", r.s.Status().LastExit)
		}
		if f := r.s.Status().InForce; f == nil || f.RSSLimit != uint64(wantRSS) || f.HeapMiB != 256 {
			t.Errorf("in force %+v, want the new sizes", f)
		}
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib}, sampler.Proc{PID: pid, RSS: 400 * mib}))
		if reason, _ := r.lastExit(); reason != ReasonRSSLimit {
			t.Fatalf("last exit %s, want rss_limit over the new limit", reason)
		}
		r.sleep(time.Minute)
		if argv := r.h.procs[r.child()].cmd; !strings.Contains(argv, "--max-old-space-size=256") {
			t.Errorf("next child %q, want the heap flag of 256", argv)
		}
		if n := len(r.find("memory limit below the running heap")); n != 0 {
			t.Errorf("%d heap warnings for a limit that grew", n)
		}
		r.stop()
	})
}

// TestResize_BelowHeap: a limit lowered below the running child's heap is
// warned of once; with ResizeRestart, and a smaller heap for the next
// child (auto), the child is restarted for it; a child still starting is
// judged once it serves.
func TestResize_BelowHeap(t *testing.T) {
	tests := []struct {
		name               string
		autoHeap, restart  bool
		starting, restarts bool
	}{
		{"warn only", true, false, false, false},
		{"restart", true, true, false, true},
		{"restart while starting, once it serves", true, true, true, true},
		{"no smaller heap to restart with", false, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.HeapMiB, cfg.AutoHeap, cfg.ResizeRestart = 256, tt.autoHeap, tt.restart
				if tt.starting {
					cfg.AwaitReady, cfg.Notify, cfg.ReadyTimeout = true, true, time.Minute
				}
				r := startRig(t, cfg, withCgroup(512*mib, cgroup.Events{}))
				pid := r.child()
				r.sample(cgSample(cgroup.Memory{Limit: 200 * mib}, sampler.Proc{PID: pid, RSS: 50 * mib}))
				if tt.starting {
					if r.s.Status().LastExit != nil {
						t.Fatal("a starting child was restarted")
					}
					r.ready(pid)
					r.sample(cgSample(cgroup.Memory{Limit: 200 * mib}, sampler.Proc{PID: pid, RSS: 50 * mib}))
				}
				r.sample(cgSample(cgroup.Memory{Limit: 200 * mib}, sampler.Proc{PID: pid, RSS: 50 * mib}))
				got := r.find("memory limit below the running heap")
				if len(got) != 1 || got[0]["max_old_space_size_mib"] != 256.0 {
					t.Fatalf("heap warnings %v, want one", got)
				}
				if e := r.s.Status().LastExit; tt.restarts != (e != nil && e.Reason == ReasonResize) {
					t.Errorf("last exit %+v, want a resize restart: %v", e, tt.restarts)
				}
				r.stop()
			})
		})
	}
}

// TestPressure_Limit: a child whose cgroup stalls (full) for the limit's
// share of its window is restarted with reason memory_pressure; a lower
// share is left alone.
func TestPressure_Limit(t *testing.T) {
	tests := []struct {
		name    string
		perTick uint64 // µs of full stall per 1 s sample
		restart bool
	}{
		{"stalled 70% of the time", 700_000, true},
		{"stalled 50% of the time", 500_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.PressureLimit = PressureLimit{Share: 0.6, Window: 10 * time.Second}
				r := startRig(t, cfg, withCgroup(512*mib, cgroup.Events{}))
				pid := r.child()
				var total uint64
				for range 12 {
					total += tt.perTick
					m := cgroup.Memory{Limit: 512 * mib, Pressure: &cgroup.Pressure{Full: cgroup.Stall{TotalUS: total}}}
					r.sample(cgSample(m, sampler.Proc{PID: pid, RSS: 50 * mib}))
					r.sleep(time.Second)
				}
				e := r.s.Status().LastExit
				if got := e != nil && e.Reason == ReasonMemoryPressure; got != tt.restart {
					t.Errorf("last exit %+v, want a memory_pressure restart: %v", e, tt.restart)
				}
				if got := len(r.find("memory pressure limit exceeded")); got != boolInt(tt.restart) {
					t.Errorf("%d pressure events, want %d", got, boolInt(tt.restart))
				}
				r.stop()
			})
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPIDs_Warning: near pids.max crinit warns once, counting the tree's
// zombies and naming the parent that leaves them unreaped.
func TestPIDs_Warning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), withCgroup(512*mib, cgroup.Events{}))
		pid := r.child()
		sh := r.h.spawn(pid, "sh -c sleep", nil)
		for range 3 {
			z := r.h.spawn(sh, "sleep", nil)
			r.h.mu.Lock()
			r.h.procs[z].alive, r.h.procs[z].zombie = false, true
			r.h.mu.Unlock()
		}
		near := cgroup.Memory{Limit: 512 * mib, PIDs: &cgroup.PIDs{Current: 85, Max: 100}}
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib, PIDs: &cgroup.PIDs{Current: 10, Max: 100}}, sampler.Proc{PID: pid, RSS: mib}))
		r.sample(cgSample(near, sampler.Proc{PID: pid, RSS: mib}))
		r.sample(cgSample(near, sampler.Proc{PID: pid, RSS: mib}))
		got := r.find("pids near limit")
		if len(got) != 1 {
			t.Fatalf("pids warnings %v, want one", got)
		}
		parents, _ := got[0]["zombie_parents"].([]any)
		if got[0]["zombies"] != 3.0 || len(parents) != 1 || parents[0].(map[string]any)["pid"] != float64(sh) {
			t.Errorf("pids near limit %v, want 3 zombies of %d", got[0], sh)
		}
		r.stop()
	})
}

// TestOOMKill_ChildReapedFirst: the child itself was the victim and crinit
// reaped it before the event arrived: it is named, with its command line.
func TestOOMKill_ChildReapedFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), withCgroup(512*mib, cgroup.Events{}))
		pid := r.child()
		r.sample(cgSample(cgroup.Memory{Limit: 512 * mib}, sampler.Proc{PID: pid, RSS: 500 * mib}))
		r.h.mu.Lock()
		r.h.mem.Events.OOMKill, r.h.mem.OOMKills = 1, 1
		r.h.mu.Unlock()
		r.h.exit(pid, signaled(syscall.SIGKILL))
		synctest.Wait()
		r.memEvents(cgroup.Events{OOMKill: 1})
		got := r.find("oom kill")
		if len(got) != 1 || got[0]["victim_pid"] != float64(pid) || got[0]["victim_command"] != "node server.js" {
			t.Errorf("oom kill %v, want the child %d with its command line", got, pid)
		}
		r.stop()
	})
}

// TestWatchEvents runs the watcher on a real inotify watch of a directory
// standing in for a v2 cgroup: each change reaches the loop's channel, a
// reading the loop has not taken is replaced by the latest, and closing
// the watch ends the watcher.
func TestWatchEvents(t *testing.T) {
	dir := t.TempDir()
	// One write(2) over the old content, never shorter, as the kernel
	// changes memory.events: a truncation would be an event of its own,
	// showing an empty file.
	write := func(name, text string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte(text), 0); err != nil {
			t.Fatal(err)
		}
	}
	write("memory.events", "oom_kill 0\n")
	write("cgroup.events", "populated 1\n")
	cg := &cgroup.Cgroup{Version: 2, Dir: dir, Mount: dir}
	w, err := cg.WatchEvents()
	if err != nil {
		t.Fatal(err)
	}
	out, done := make(chan cgroup.Events, 1), make(chan struct{})
	go func() { defer close(done); watchEvents(w, cg, out, hclog.NewNullLogger()) }()

	write("memory.events", "oom_kill 1\n")
	if ev := <-out; ev.OOMKill != 1 {
		t.Errorf("first reading %+v, want oom_kill 1", ev)
	}
	for n := 2; n <= 4; n++ { // not taken meanwhile: only the latest matters
		write("memory.events", fmt.Sprintf("max %d\noom_kill %d\n", n, n))
	}
	for ev := range out {
		if ev.OOMKill == 4 && ev.Max == 4 {
			break
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
}

// TestPaceSampling: the sampler is asked for nearInterval while the tree
// is past the warn level (or, without one, 80% of the limit), and for the
// configured interval again once it is not.
func TestPaceSampling(t *testing.T) {
	tests := []struct {
		name string
		warn uint64
		rss  []uint64 // MiB, one sample each
		fds  int      // of a limit of 1024
		want []time.Duration
	}{
		{"past the warn level and back", 160 * mib, []uint64{100, 170, 120}, 10, []time.Duration{nearInterval, time.Second}},
		{"no warn level: 80% of the limit", 0, []uint64{150, 165}, 10, []time.Duration{nearInterval}},
		{"far below every limit", 160 * mib, []uint64{10, 10, 10}, 10, []time.Duration{2 * time.Second}},
		{"far below, then at half the limit", 160 * mib, []uint64{10, 10, 100}, 10, []time.Duration{2 * time.Second, time.Second}},
		{"far below, growing to half the limit within two slow samples", 160 * mib, []uint64{10, 10, 40}, 10,
			[]time.Duration{2 * time.Second, time.Second}},
		{"far below, growing slowly", 160 * mib, []uint64{10, 10, 15, 20}, 10, []time.Duration{2 * time.Second}},
		{"at half the RSS limit", 160 * mib, []uint64{100, 100}, 10, nil},
		{"at half the descriptor limit", 160 * mib, []uint64{10, 10}, 512, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.SampleInterval, cfg.RSSLimit, cfg.RSSWarn, cfg.RSSGrace = time.Second, 200*mib, tt.warn, 5
				r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
				pid := r.child()
				var got []time.Duration
				for _, rss := range tt.rss {
					r.sample(sampler.Sample{RSS: rss * mib, Procs: []sampler.Proc{{PID: pid, RSS: rss * mib, FDs: tt.fds, FDLimit: 1024}}})
					select {
					case d := <-r.s.sampleIvl:
						got = append(got, d)
					default:
					}
					r.sleep(time.Second)
				}
				if len(got) != len(tt.want) || (len(got) > 0 && (got[0] != tt.want[0] || got[len(got)-1] != tt.want[len(tt.want)-1])) {
					t.Errorf("intervals asked for %v, want %v", got, tt.want)
				}
				r.stop()
			})
		})
	}
}
