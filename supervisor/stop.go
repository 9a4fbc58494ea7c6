package supervisor

import (
	"syscall"
	"time"
)

// onSignal handles one signal: reaping, reload, shutdown, forwarding.
func (s *Supervisor) onSignal(sig syscall.Signal) {
	switch {
	case sig == syscall.SIGCHLD:
		s.onReap()
	case sig == syscall.SIGPIPE:
		// Crinit's own: a write to a closed stdout. Forwarding it would
		// make the next log line fail again, in a loop.
	case sig == s.cfg.ReloadSignal:
		s.reload(sig)
	case isShutdown(sig):
		s.onShutdown(sig)
	default:
		s.forward(sig)
		s.unchanged = true // nothing to publish: the child's signal is off to it at once
	}
}

// reload restarts the child on the reload signal, which is never
// forwarded: through the stop sequence while it runs, at once during a
// backoff wait or a clean-up that ends in a restart, not at all while it is
// already stopping or crinit is shutting down.
func (s *Supervisor) reload(sig syscall.Signal) {
	g := s.current
	switch {
	case s.backoff != nil:
		s.log.Info("reload requested during backoff", "signal", signalName(sig))
		s.start()
	case g != nil && g.serving():
		s.log.Info("reload requested", "signal", signalName(sig), "pid", g.pid)
		s.restart(g, ReasonReload)
	case g != nil && g.phase == PhaseCleaning && g.end.decision.Restart && !s.shutdown:
		s.log.Info("reload requested during clean-up", "signal", signalName(sig), "pid", g.pid)
		g.end.decision.Delay = 0
	case g != nil && g.phase == PhaseStopping:
		s.log.Info("reload ignored: child stopping", "signal", signalName(sig))
	case g != nil && g.phase == PhaseStarting:
		s.log.Info("reload ignored: child starting", "signal", signalName(sig), "pid", g.pid)
	default:
		s.log.Info("reload ignored: no restart ahead", "signal", signalName(sig))
	}
}

// onShutdown handles SIGTERM, SIGINT and SIGQUIT: no restart from now on;
// the child is drained, then stopped; a second one is forwarded.
func (s *Supervisor) onShutdown(sig syscall.Signal) {
	g := s.live()
	switch {
	case s.backoff != nil:
		s.shutdown = true
		s.log.Info("shutdown requested during backoff", "signal", signalName(sig), "exit_code", s.backoff.code)
		code := s.backoff.code
		s.backoff = nil
		s.exitWhenAlone(code)
	case g != nil && g.phase == PhaseDraining:
		s.log.Info("drain cut short", "signal", signalName(sig))
		s.endDrain(g)
	case s.shutdown:
		s.forward(sig)
	case g == nil:
		// Remnants of the last child are being cleared: no grace left.
		s.shutdown = true
		s.log.Info("shutdown requested", "signal", signalName(sig), "during", "remnant clean-up")
		s.stopOthers(nil)
		for _, c := range s.cleaning() {
			s.cleanNow(c)
		}
	default:
		s.shutdown = true
		s.log.Info("shutdown requested", "signal", signalName(sig), "stop_timeout_ms", s.cfg.StopTimeout.Milliseconds(),
			"drain_delay_ms", s.cfg.DrainDelay.Milliseconds())
		s.stopOthers(g)
		if s.cfg.DrainDelay > 0 && g.phase == PhaseRunning {
			// Not ready from now on; the child keeps serving meanwhile.
			g.held = sig
			s.move(g, PhaseDraining, time.Now().Add(s.cfg.DrainDelay))
			return
		}
		s.beginShutdown(g, sig)
	}
}

// stopOthers stops, for a shutdown, every generation but g still alive:
// one an overlapped restart is replacing.
func (s *Supervisor) stopOthers(g *generation) {
	for _, o := range s.alive() {
		if o != g {
			s.stop(o, ReasonShutdown, s.cfg.StopTimeout)
		}
	}
}

// endDrain forwards the shutdown signal held back during the drain.
func (s *Supervisor) endDrain(g *generation) {
	sig := g.held
	g.held = 0
	s.beginShutdown(g, sig)
}

// beginShutdown forwards sig and gives the child StopTimeout to exit. A
// stop under way keeps its reason and its SIGKILL deadline.
func (s *Supervisor) beginShutdown(g *generation, sig syscall.Signal) {
	s.forward(sig)
	if g.phase == PhaseStopping {
		return
	}
	g.stopReason = ReasonShutdown
	s.move(g, PhaseStopping, time.Now().Add(s.cfg.StopTimeout))
}

// forward passes sig on to the current child or its process group.
func (s *Supervisor) forward(sig syscall.Signal) {
	g := s.live()
	if g == nil {
		s.log.Debug("signal dropped: no child", "signal", signalName(sig))
		return
	}
	target, to := -g.pid, ForwardGroup
	if s.cfg.ForwardTo == ForwardChild {
		target, to = g.pid, ForwardChild
	}
	if err := s.host.signal(target, sig); err != nil {
		s.log.Warn("signal not forwarded", "signal", signalName(sig), "to", to, "pid", g.pid, "error", err)
		return
	}
	s.log.Info("signal forwarded", "signal", signalName(sig), "signo", int(sig), "to", to, "pid", g.pid)
}

// stop asks g's process group to stop with SIGTERM, for reason, and
// arms the SIGKILL that follows after timeout.
func (s *Supervisor) stop(g *generation, reason Reason, timeout time.Duration) {
	if !g.serving() && g.phase != PhaseStarting {
		return
	}
	g.stopAt = time.Now()
	held := g.held
	g.stopReason, g.held = reason, 0
	if !s.move(g, PhaseStopping, time.Now().Add(timeout)) {
		return
	}
	s.log.Info("stopping child", "pid", g.pid, "reason", reason, "kill_timeout_ms", timeout.Milliseconds())
	if err := s.host.signal(-g.pid, syscall.SIGTERM); err != nil {
		s.log.Warn("cannot signal process group", "pgid", g.pid, "signal", "SIGTERM", "error", err)
	}
	if held != 0 && held != syscall.SIGTERM {
		// A drain was under way: the shutdown signal it held back is due
		// now, not at the drain's end.
		s.forward(held)
	}
}

// killAfterTimeout SIGKILLs the tree of a generation that did not stop in
// time.
func (s *Supervisor) killAfterTimeout(g *generation) {
	timeout := s.cfg.KillTimeout
	if g.stopReason == ReasonShutdown {
		timeout = s.cfg.StopTimeout
	}
	g.deadline = time.Time{} // nothing left to escalate to: wait for the exit
	s.log.Warn("stop timeout, killing child", "pid", g.pid, "reason", g.stopReason, "timeout_ms", timeout.Milliseconds())
	g.sentKill = true
	s.killTree(g, syscall.SIGKILL)
}
