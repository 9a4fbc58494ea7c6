package supervisor

import (
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crinit/crinit/sampler"
)

// Each scenario is a sequence of events against a fake host in fake time;
// it checks what crinit did (signals, starts, log events) and how it ends.

// nodeLike makes a child that exits 0 on SIGTERM, as node with a handler.
func nodeLike(p *fakeProc) { p.exitOn[syscall.SIGTERM] = 0 }

// stubborn makes a child that ignores SIGTERM.
func stubborn(p *fakeProc) { p.survives[syscall.SIGTERM] = true }

func TestLoop_CleanExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		pid := r.child()
		if st := r.s.Status(); st.State != StateRunning || !st.Live() || !st.Ready() {
			t.Fatalf("after start: state %s live %v ready %v, want running, live, ready", st.State, st.Live(), st.Ready())
		}
		r.h.exit(pid, exited(0))
		synctest.Wait()
		if code := r.exitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if reason, _ := r.lastExit(); reason != ReasonExit {
			t.Errorf("reason %s, want exit", reason)
		}
		r.has("child started", "child exited", "shutdown")
		if got := r.s.Status().State; got != StateDone {
			t.Errorf("state %s, want done", got)
		}
	})
}

func TestLoop_CrashRestartsAfterBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		first := r.child()
		r.h.exit(first, exited(3))
		synctest.Wait()
		if st := r.s.Status(); st.State != StateBackoff || st.Live() {
			t.Fatalf("after a crash: state %s live %v, want backoff, not live", st.State, st.Live())
		}
		r.sleep(999 * time.Millisecond)
		if n := len(r.h.pids()); n != 1 {
			t.Fatalf("%d starts before the 1s backoff ended, want 1", n)
		}
		r.sleep(time.Millisecond)
		if got := r.h.pids(); len(got) != 2 || r.child() != got[1] {
			t.Fatalf("starts %v, want a second child after 1s", got)
		}
		if st := r.s.Status(); st.RestartsByReason[ReasonExit] != 1 || st.RestartsInWindow != 1 || st.Starts != 2 {
			t.Errorf("status %+v, want one restart for exit", st)
		}
		if code := r.stop(); code != 143 {
			t.Errorf("exit code after SIGTERM %d, want 143", code)
		}
	})
}

// TestLoop_ExitDuringStop: crinit stops the child for a reload; its exit
// in the middle of the stop keeps crinit's reason and restarts at once.
func TestLoop_ExitDuringStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.ReloadSignal = syscall.SIGHUP
		r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
		first := r.child()
		r.signal(syscall.SIGHUP)
		if got := r.h.sentTo(-first); len(got) != 1 || got[0] != syscall.SIGTERM {
			t.Fatalf("signals to the group %v, want SIGTERM", got)
		}
		if reason, code := r.lastExit(); reason != ReasonReload || code != 0 {
			t.Errorf("last exit %s %d, want reload 0", reason, code)
		}
		if got := r.h.pids(); len(got) != 2 {
			t.Fatalf("starts %v, want the reload to start a second child at once", got)
		}
		if st := r.s.Status(); st.RestartsInWindow != 0 || st.RestartsByReason[ReasonReload] != 1 {
			t.Errorf("reload counted in the budget: %+v", st)
		}
		r.has("reload requested", "stopping child", "child exited", "child started")
		r.stop()
	})
}

// TestLoop_StopTimeout: a child that ignores SIGTERM gets SIGKILL after
// the kill timeout, and the reason stays crinit's.
func TestLoop_StopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.ReloadSignal = syscall.SIGHUP
		r := startRig(t, cfg, func(h *fakeHost) { h.child = stubborn })
		first := r.child()
		r.signal(syscall.SIGHUP)
		if st := r.s.Status().State; st != StateStopping {
			t.Fatalf("state %s, want stopping", st)
		}
		r.signal(syscall.SIGHUP)
		r.has("reload ignored: child stopping")
		r.sleep(5*time.Second - time.Millisecond)
		if got := r.h.sentTo(-first); len(got) != 1 {
			t.Fatalf("signals to the group before the timeout: %v", got)
		}
		r.sleep(time.Millisecond)
		if got := r.h.sentTo(-first); len(got) != 2 || got[1] != syscall.SIGKILL {
			t.Fatalf("signals to the group %v, want SIGTERM then SIGKILL", got)
		}
		if reason, code := r.lastExit(); reason != ReasonReload || code != 137 {
			t.Errorf("last exit %s %d, want reload 137", reason, code)
		}
		r.has("stop timeout, killing child", "child exited")
		r.stop()
	})
}

// TestLoop_ShutdownDuringBackoff exits with the last child's status.
func TestLoop_ShutdownDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		r.h.exit(r.child(), exited(7))
		synctest.Wait()
		r.signal(syscall.SIGUSR1)
		r.has("signal dropped: no child")
		r.signal(syscall.SIGTERM)
		if code := r.exitCode(); code != 7 {
			t.Errorf("exit code %d, want the last child's 7", code)
		}
		if n := len(r.h.pids()); n != 1 {
			t.Errorf("%d starts, want no restart after the shutdown", n)
		}
		r.has("shutdown requested during backoff")
	})
}

// TestLoop_ShutdownDuringCleanup: a SIGTERM while a remnant outlives its
// SIGTERM goes straight to SIGKILL, and no restart follows.
func TestLoop_ShutdownDuringCleanup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		pid := r.child()
		remnant := r.h.spawn(pid, "node worker.js", stubborn)
		r.h.exit(pid, exited(1))
		synctest.Wait()
		if st := r.s.Status(); st.State != StateCleaning || st.Live() {
			t.Fatalf("state %s live %v, want cleaning, not live", st.State, st.Live())
		}
		if got := r.h.sentTo(remnant); len(got) != 1 || got[0] != syscall.SIGTERM {
			t.Fatalf("signals to the remnant %v, want SIGTERM", got)
		}
		r.sleep(100 * time.Millisecond) // polls, well inside the remnant timeout
		r.signal(syscall.SIGTERM)
		if got := r.h.sentTo(remnant); len(got) != 2 || got[1] != syscall.SIGKILL {
			t.Fatalf("signals to the remnant %v, want SIGKILL at once after the shutdown", got)
		}
		if code := r.exitCode(); code != 1 {
			t.Errorf("exit code %d, want the child's 1", code)
		}
		if n := len(r.h.pids()); n != 1 {
			t.Errorf("%d starts, want no restart", n)
		}
		r.has("child exited", "remnant killed", "shutdown requested", "remnant killed", "shutdown")
	})
}

// TestLoop_Remnants: SIGTERM, then SIGKILL after the remnant timeout;
// one that survives even that is given up after killWait.
func TestLoop_Remnants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Restart.Mode = Never
		r := startRig(t, cfg, nil)
		pid := r.child()
		polite := r.h.spawn(pid, "sh -c sleep", nil)
		deaf := r.h.spawn(pid, "node worker.js", stubborn)
		r.h.exit(pid, exited(0))
		synctest.Wait()
		if got := r.h.sentTo(polite); len(got) != 1 || got[0] != syscall.SIGTERM {
			t.Fatalf("signals to the polite remnant %v, want SIGTERM", got)
		}
		r.sleep(2*time.Second - time.Millisecond)
		if got := r.h.sentTo(deaf); len(got) != 1 {
			t.Fatalf("signals to the deaf remnant before the remnant timeout: %v", got)
		}
		r.sleep(time.Millisecond)
		if got := r.h.sentTo(deaf); len(got) != 2 || got[1] != syscall.SIGKILL {
			t.Fatalf("signals to the deaf remnant %v, want SIGTERM, SIGKILL", got)
		}
		if code := r.exitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if orphans := r.s.Status().OrphansReaped; orphans != 2 {
			t.Errorf("orphans reaped %d, want the 2 remnants", orphans)
		}
	})
}

func TestLoop_RemnantsSurviveKill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Restart.Mode = Never
		r := startRig(t, cfg, nil)
		pid := r.child()
		r.h.spawn(pid, "stuck in D state", func(p *fakeProc) {
			p.survives[syscall.SIGTERM], p.survives[syscall.SIGKILL] = true, true
		})
		r.h.exit(pid, exited(0))
		synctest.Wait()
		r.sleep(2*time.Second + killWait)
		r.has("remnant killed", "remnant killed", "remnants survived SIGKILL", "shutdown")
		if code := r.exitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
	})
}

// TestLoop_Reload covers the reload signal in every state.
func TestLoop_Reload(t *testing.T) {
	cfg := testConfig()
	cfg.ReloadSignal = syscall.SIGHUP
	cfg.DrainDelay = 5 * time.Second
	t.Run("backoff starts at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, cfg, nil)
			r.h.exit(r.child(), exited(1))
			synctest.Wait()
			r.signal(syscall.SIGHUP)
			if got := r.h.pids(); len(got) != 2 {
				t.Fatalf("starts %v, want a start at once", got)
			}
			r.has("reload requested during backoff", "child started")
			r.stop()
		})
	})
	t.Run("clean-up skips the backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, cfg, nil)
			pid := r.child()
			remnant := r.h.spawn(pid, "worker", stubborn)
			r.h.exit(pid, exited(1))
			synctest.Wait()
			r.signal(syscall.SIGHUP)
			r.h.exit(remnant, exited(0))
			synctest.Wait()
			if got := r.h.pids(); len(got) != 2 {
				t.Fatalf("starts %v, want a start right after the clean-up", got)
			}
			r.has("reload requested during clean-up", "child started")
			r.lacks("signal forwarded")
			r.stop()
		})
	})
	t.Run("clean-up before an exit is ignored", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, cfg, nil)
			pid := r.child()
			remnant := r.h.spawn(pid, "worker", stubborn)
			r.h.exit(pid, exited(0)) // on-failure: no restart after 0
			synctest.Wait()
			r.signal(syscall.SIGHUP)
			r.h.exit(remnant, exited(0))
			synctest.Wait()
			if code := r.exitCode(); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			r.has("reload ignored: no restart ahead")
		})
	})
	t.Run("draining stops without a restart", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
			r.signal(syscall.SIGTERM)
			r.signal(syscall.SIGHUP)
			r.has("shutdown requested", "reload requested", "stopping child", "child exited")
			if reason, _ := r.lastExit(); reason != ReasonReload {
				t.Errorf("reason %s, want reload", reason)
			}
			if code := r.exitCode(); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			if n := len(r.h.pids()); n != 1 {
				t.Errorf("%d starts, want 1", n)
			}
		})
	})
}

// TestLoop_Drain: SIGTERM makes crinit not ready for the drain delay,
// then forwards it; a second SIGTERM cuts the drain short.
func TestLoop_Drain(t *testing.T) {
	cfg := testConfig()
	cfg.DrainDelay = 5 * time.Second
	for _, cut := range []bool{false, true} {
		name := map[bool]string{false: "full", true: "cut short"}[cut]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startRig(t, cfg, func(h *fakeHost) { h.child = nodeLike })
				pid := r.child()
				r.signal(syscall.SIGTERM)
				st := r.s.Status()
				if !st.Draining || st.Ready() || !st.ShuttingDown || len(r.h.sentTo(-pid)) != 0 {
					t.Fatalf("draining %v ready %v shutting down %v signals %v: want draining, not ready, nothing sent",
						st.Draining, st.Ready(), st.ShuttingDown, r.h.sentTo(-pid))
				}
				if cut {
					r.signal(syscall.SIGTERM)
					r.has("drain cut short")
				} else {
					r.sleep(5 * time.Second)
				}
				if got := r.h.sentTo(-pid); len(got) != 1 || got[0] != syscall.SIGTERM {
					t.Errorf("signals %v, want one SIGTERM", got)
				}
				if code := r.exitCode(); code != 0 {
					t.Errorf("exit code %d, want 0", code)
				}
			})
		})
	}
}

// TestLoop_ShutdownStopTimeout: a child that ignores the forwarded
// SIGTERM is killed after the stop timeout; a second SIGTERM is forwarded.
func TestLoop_ShutdownStopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), func(h *fakeHost) { h.child = stubborn })
		pid := r.child()
		r.signal(syscall.SIGTERM)
		r.signal(syscall.SIGTERM)
		r.sleep(8 * time.Second)
		if got := r.h.sentTo(-pid); len(got) != 3 || got[2] != syscall.SIGKILL {
			t.Errorf("signals %v, want SIGTERM, SIGTERM, SIGKILL", got)
		}
		if code := r.exitCode(); code != 137 {
			t.Errorf("exit code %d, want 137", code)
		}
		if reason, _ := r.lastExit(); reason != ReasonShutdown {
			t.Errorf("reason %s, want shutdown", reason)
		}
	})
}

// TestLoop_OOMKillDuringStop: the kernel's SIGKILL while crinit stops the
// child for a failed probe is the OOM killer's.
func TestLoop_OOMKillDuringStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Probe = newTestProber(t)
		cfg.ProbeInterval, cfg.ProbePolicy.Retries = 10*time.Second, 1
		r := startRig(t, cfg, func(h *fakeHost) { h.child = stubborn; h.setOOMKills(3) })
		pid := r.child()
		r.probe(false)
		if st := r.s.Status().State; st != StateStopping {
			t.Fatalf("state %s after an unhealthy probe, want stopping", st)
		}
		r.h.setOOMKills(4)
		r.h.exit(pid, signaled(syscall.SIGKILL))
		synctest.Wait()
		if reason, code := r.lastExit(); reason != ReasonOOMKill || code != 137 {
			t.Errorf("last exit %s %d, want oom_kill 137", reason, code)
		}
		if e := r.find("child exited"); len(e) != 1 || e[0]["@level"] != "error" {
			t.Errorf("child exited events %v, want one at error level", e)
		}
		r.sleep(time.Second)
		r.stop()
	})
}

// TestLoop_Panic: a panic in a handler is logged and the loop goes on; a
// panic halfway through a child's exit ends crinit with the child's status.
func TestLoop_Panic(t *testing.T) {
	t.Run("forwarding", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, testConfig(), nil)
			r.h.panicIn = "signal"
			r.signal(syscall.SIGUSR1)
			r.has("panic recovered")
			r.running()
			if code := r.stop(); code != 143 {
				t.Errorf("exit code %d, want 143", code)
			}
		})
	})
	t.Run("exit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, testConfig(), nil)
			r.h.panicIn = "memory"
			r.h.exit(r.child(), exited(9))
			synctest.Wait()
			if code := r.exitCode(); code != 9 {
				t.Errorf("exit code %d, want the child's 9", code)
			}
			r.has("panic recovered", "child exit not handled, exiting")
		})
	})
	t.Run("start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, testConfig(), func(h *fakeHost) { h.panicIn = "start" })
			if code := r.exitCode(); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			r.has("panic recovered", "child exit not handled, exiting")
		})
	})
	t.Run("worker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, testConfig(), nil)
			r.panics <- workerPanic{worker: "sampler", value: "boom"}
			synctest.Wait()
			r.has("worker stopped")
			r.running()
			r.stop()
		})
	})
}

// TestLoop_OrphanStorm: thousands of orphans are reaped and counted; the
// child is untouched and the count is published.
func TestLoop_OrphanStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		pid := r.child()
		const storm = 5000
		for i := range storm {
			orphan := r.h.spawn(fakeSelf, "sh", nil)
			r.h.exit(orphan, exited(i%3))
			if i%100 == 0 {
				synctest.Wait()
			}
		}
		synctest.Wait()
		r.sleep(orphanPublish)
		st := r.s.Status()
		if st.OrphansReaped != storm || st.Child == nil || st.Child.PID != pid {
			t.Errorf("orphans %d child %+v, want %d and the child untouched", st.OrphansReaped, st.Child, storm)
		}
		r.stop()
	})
}

// TestLoop_SampleReapsLostSIGCHLD: an orphan whose SIGCHLD never came is
// reaped by the next sample, which stands in for the reap tick.
func TestLoop_SampleReapsLostSIGCHLD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		pid := r.child()
		orphan := r.h.spawn(fakeSelf, "sh", nil)
		r.h.mu.Lock()
		r.h.procs[orphan].alive, r.h.procs[orphan].zombie = false, true
		r.h.waiting = append(r.h.waiting, exit{pid: orphan, status: exited(0)}) // no SIGCHLD
		r.h.mu.Unlock()
		r.sleep(time.Hour)
		if n := r.s.Status().OrphansReaped; n != 0 {
			t.Fatalf("orphans reaped %d without a sample; want 0 (the rig's loop has no reap tick)", n)
		}
		r.sample(sampler.Sample{Procs: []sampler.Proc{{PID: pid, RSS: mib}}, RSS: mib})
		if st := r.s.Status(); st.OrphansReaped != 1 || st.Tree == nil {
			t.Errorf("after a sample: orphans reaped %d, tree %+v; want the orphan reaped and the sample published", st.OrphansReaped, st.Tree)
		}
		r.stop()
	})
}

// TestLoop_BudgetExhausted: restarts stop at the budget, and crinit exits
// with the last status, never 0.
func TestLoop_BudgetExhausted(t *testing.T) {
	for _, tt := range []struct {
		name      string
		mode      Mode
		childCode int
		want      int
	}{
		{"failures", OnFailure, 3, 3},
		{"clean exits under always", Always, 0, ExitBudget},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.Restart.Mode, cfg.Restart.Max = tt.mode, 2
				r := startRig(t, cfg, nil)
				for range 3 {
					r.h.exit(r.child(), exited(tt.childCode))
					r.sleep(10 * time.Second)
				}
				if code := r.exitCode(); code != tt.want {
					t.Errorf("exit code %d, want %d", code, tt.want)
				}
				if n := len(r.h.pids()); n != 3 {
					t.Errorf("%d starts, want 3", n)
				}
				e := r.find("restart budget exhausted")
				if len(e) != 1 || e[0]["restarts"] != 2.0 || e[0]["exit_code"] != float64(tt.want) {
					t.Errorf("budget events %v", e)
				}
			})
		})
	}
}

// TestLoop_StartFailures: a missing command ends crinit with 127; a
// transient failure is retried inside the budget.
func TestLoop_StartFailures(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, testConfig(), func(h *fakeHost) { h.startErr = []error{syscall.ENOENT} })
			if code := r.exitCode(); code != ExitNotFound {
				t.Errorf("exit code %d, want %d", code, ExitNotFound)
			}
			r.has("child not started")
		})
	})
	t.Run("transient", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startRig(t, testConfig(), func(h *fakeHost) { h.startErr = []error{syscall.EAGAIN} })
			if st := r.s.Status().State; st != StateBackoff {
				t.Fatalf("state %s, want backoff", st)
			}
			r.sleep(time.Second)
			if n := len(r.h.pids()); n != 1 {
				t.Fatalf("%d children after the retry, want 1", n)
			}
			r.stop()
		})
	})
}

// TestLoop_Forward: signals go to the group or the child, SIGPIPE nowhere.
func TestLoop_Forward(t *testing.T) {
	for _, to := range []ForwardTarget{ForwardGroup, ForwardChild} {
		t.Run(string(to), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.ForwardTo = to
				r := startRig(t, cfg, nil)
				pid := r.child()
				target := -pid
				if to == ForwardChild {
					target = pid
				}
				r.signal(syscall.SIGWINCH)
				r.signal(syscall.SIGPIPE)
				if got := r.h.sentTo(target); len(got) != 1 || got[0] != syscall.SIGWINCH {
					t.Errorf("signals to %d: %v, want SIGWINCH only", target, got)
				}
				r.stop()
			})
		})
	}
}

// TestLoop_ShutdownBeforeCleanup: a SIGTERM that arrives with the child's
// SIGCHLD, before the clean-up's first step, skips its grace: SIGTERM and
// SIGKILL at once.
func TestLoop_ShutdownBeforeCleanup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		pid := r.child()
		remnant := r.h.spawn(pid, "node worker.js", stubborn)
		r.h.exit(pid, exited(1))
		r.sigs <- syscall.SIGTERM
		synctest.Wait()
		if got := r.h.sentTo(remnant); len(got) != 2 || got[1] != syscall.SIGKILL {
			t.Fatalf("signals to the remnant %v, want SIGTERM and SIGKILL at once", got)
		}
		if code := r.exitCode(); code != 1 {
			t.Errorf("exit code %d, want the child's 1", code)
		}
	})
}

// TestLoop_StopDuringDrain: a limit that stops the child during a drain
// forwards the shutdown signal the drain held back.
func TestLoop_StopDuringDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.DrainDelay, cfg.RSSLimit, cfg.RSSGrace = 5*time.Second, 100*mib, 1
		r := startRig(t, cfg, func(h *fakeHost) { h.child = stubborn })
		pid := r.child()
		r.signal(syscall.SIGQUIT)
		r.sample(sampler.Sample{RSS: 200 * mib, Procs: []sampler.Proc{{PID: pid, RSS: 200 * mib}}})
		if got := r.h.sentTo(-pid); len(got) != 2 || got[0] != syscall.SIGTERM || got[1] != syscall.SIGQUIT {
			t.Errorf("signals to the group %v, want SIGTERM, then the held SIGQUIT", got)
		}
		if code := r.exitCode(); code != 131 {
			t.Errorf("exit code %d, want 131 (SIGQUIT)", code)
		}
	})
}

// TestLoop_PanicDuringStart: a panic after the fork leaves a running
// child that samples still judge.
func TestLoop_PanicDuringStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.RSSLimit, cfg.RSSGrace = 100*mib, 1
		// The first call reads the cgroup's baseline; the second is the start's.
		r := startRig(t, cfg, func(h *fakeHost) { h.panicIn, h.panicSkip = "memory", 1; h.child = nodeLike })
		pid := r.child()
		r.has("panic recovered")
		r.sample(sampler.Sample{RSS: 200 * mib, Procs: []sampler.Proc{{PID: pid, RSS: 200 * mib}}})
		if reason, _ := r.lastExit(); reason != ReasonRSSLimit {
			t.Errorf("last exit %s, want rss_limit", reason)
		}
		r.stop()
	})
}

// TestLoop_ShutdownRightAfterExit: a SIGTERM right behind the child's
// SIGCHLD, nothing left behind, finds crinit in its backoff wait: the
// exit's clean-up and decision take effect in the same event.
func TestLoop_ShutdownRightAfterExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		r.h.exit(r.child(), exited(5))
		r.sigs <- syscall.SIGTERM
		synctest.Wait()
		if code := r.exitCode(); code != 5 {
			t.Errorf("exit code %d, want the child's 5", code)
		}
		r.has("child exited", "shutdown requested during backoff")
	})
}
