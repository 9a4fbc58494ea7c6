package supervisor

import (
	"syscall"
	"time"

	"github.com/crinit/crinit/limits"
)

// start starts the next generation, or fails as the policy says.
func (s *Supervisor) start() {
	s.backoff = nil
	if _, err := s.spawn(); err != nil {
		s.startFailed(err)
	}
}

// spawn starts the next generation: COMMAND in its own process group, in
// the terminal's foreground when crinit has one. It becomes the current
// generation; the one before it, if it still runs, is being replaced.
func (s *Supervisor) spawn() (*generation, error) {
	argv, env := s.cfg.Argv, s.cfg.Env
	if s.mem.heapMiB > 0 {
		argv, env, _ = limits.NodeHeap(argv, env, s.mem.heapMiB)
	}
	st, err := s.host.start(startSpec{argv: argv, env: env, files: s.cfg.Files, shim: s.cfg.Shim, notify: s.cfg.Notify})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s.starts++
	g := newGeneration(s.starts, st.pid, st.foreground, now, &s.cfg, s.mem.rssLimit, s.mem.rssWarn)
	g.heapMiB, g.argv, g.limitAtStart = s.mem.heapMiB, argv, s.mem.limit
	s.gens = append(s.gens, g)
	s.current = g
	if st.notes != nil {
		g.notes = st.notes
		s.readNotes(g.id, st.notes)
	}
	if s.cfg.AwaitReady {
		g.deadline = now.Add(s.cfg.ReadyTimeout)
	} else {
		s.becameReady(g, now)
	}
	// Make the child, not crinit, the OOM killer's choice. Raising the
	// score needs no privilege. A process the child forks before this
	// inherits crinit's score, so every sample also raises the score of
	// tree members not seen yet.
	if err := s.host.setOOMScore(st.pid, s.cfg.OOMScoreAdj); err != nil {
		s.log.Warn("cannot set child's oom_score_adj", "pid", st.pid, "oom_score_adj", s.cfg.OOMScoreAdj, "error", err)
	}
	if n, ok := s.host.oomKills(); ok {
		g.oomKills = n
	}
	s.paceProbe()
	s.log.Info("child started", "pid", st.pid, "generation", g.id, "argv", argv, "start", s.starts,
		"restarts_in_window", s.restarts.InWindow(now), "foreground", st.foreground)
	return g, nil
}

// startFailed ends crinit with 127 or 126, or, when the failure may pass
// (no process slot or memory for a moment, right after an OOM kill, say),
// retries within the budget.
func (s *Supervisor) startFailed(err error) {
	code := startErrorCode(err)
	if !transientStartError(err) || s.shutdown {
		s.log.Error("child not started", "argv", s.cfg.Argv, "exit_code", code, "error", err)
		s.finish(code)
		return
	}
	d := s.restarts.Decide(time.Now(), 0, ReasonExit, code)
	s.log.Error("child not started", "argv", s.cfg.Argv, "exit_code", code, "error", err,
		"restarts_in_window", d.InWindow, "next_delay_ms", d.Delay.Milliseconds(), "restart", d.Why)
	if !d.Restart {
		s.finish(code)
		return
	}
	s.wait(max(d.Delay, time.Millisecond), code)
}

// wait starts the next child after delay; code is crinit's exit status if
// a shutdown comes first.
func (s *Supervisor) wait(delay time.Duration, code int) {
	if delay == 0 {
		s.start()
		return
	}
	s.backoff = &backoffWait{until: time.Now().Add(delay), code: code}
}

// onReap reaps, for a SIGCHLD or the reap tick: a reap that changed
// nothing but the orphan count may wait to be published.
func (s *Supervisor) onReap() {
	s.orphansOnly = s.reap()
}

// reap collects every exited process: generations end, orphans are
// counted. Clean-ups under way look for remnants again when something
// was reaped. orphansOnly: nothing changed but the orphan count.
func (s *Supervisor) reap() (orphansOnly bool) {
	exits := s.host.reap()
	children := 0
	for _, e := range exits {
		if g := s.generation(e.pid); g != nil {
			children++
			status := e.status
			s.safely("child exit", func() { s.exited(g, status) })
			continue
		}
		s.orphans++
		if s.reapLog.IsDebug() {
			s.reapLog.Debug("orphan reaped", "pid", e.pid, "exit_code", ExitCode(e.status))
		}
	}
	orphansOnly = children == 0 && len(s.cleaning()) == 0
	if len(exits) > 0 {
		for _, g := range s.cleaning() {
			s.checkRemnants(g, time.Now())
		}
	}
	return orphansOnly
}

// exited ends g's process: it names the reason, asks the policy (for the
// current generation) and begins the clean-up of its remnants, after
// which the decision is carried out.
func (s *Supervisor) exited(g *generation, ws syscall.WaitStatus) {
	now := time.Now()
	code := ExitCode(ws)
	g.end = &ending{at: now, status: ws, code: code, current: g == s.current}
	oomKilled := false
	if n, ok := s.host.oomKills(); ok {
		oomKilled = n > g.oomKills
	}
	g.end.reason = classify(ws, g.stopReason, oomKilled, g.sentKill)
	s.exits[g.end.reason]++
	uptime := now.Sub(g.started)
	s.lastExit = &ExitStatus{PID: g.pid, At: now, Code: code, Reason: g.end.reason, UptimeMS: uptime.Milliseconds()}
	s.lastArgv = g.argv
	if ws.Signaled() {
		s.lastExit.Signal = signalName(ws.Signal())
	}
	if g.foreground {
		s.terminalBack(g, ws)
	}
	if g.end.current {
		g.end.decision = s.decide(g.end.reason, now, uptime, code)
	}
	s.logExit(g, uptime)
	s.beginCleanup(g, now)
}

// decide asks the policy about the current generation's end. With held
// sockets, a restart crinit planned takes no backoff delay.
func (s *Supervisor) decide(reason Reason, now time.Time, uptime time.Duration, code int) Decision {
	switch {
	case s.shutdown || s.exiting:
		reason = ReasonShutdown
	case len(s.cfg.Files) > 0 && reason.planned():
		return s.restarts.Planned(now)
	}
	return s.restarts.Decide(now, uptime, reason, code)
}

func (s *Supervisor) logExit(g *generation, uptime time.Duration) {
	e, d := g.end, g.end.decision
	inWindow := d.InWindow
	if !e.current { // it took no decision of its own
		inWindow = s.restarts.InWindow(e.at)
	}
	args := []any{"pid", g.pid, "exit_code", e.code, "uptime_ms", uptime.Milliseconds(),
		"reason", e.reason, "restarts_in_window", inWindow}
	if e.status.Signaled() {
		args = append(args, "signal", signalName(e.status.Signal()), "core_dumped", e.status.CoreDump())
	}
	switch {
	case !e.current:
		args = append(args, "generation", g.id, "restart", "replaced")
	case d.Restart:
		args = append(args, "generation", g.id, "next_delay_ms", d.Delay.Milliseconds())
	default:
		args = append(args, "generation", g.id, "restart", d.Why)
	}
	if e.reason == ReasonOOMKill {
		s.log.Error("child exited", args...)
	} else {
		s.log.Info("child exited", args...)
	}
}

// afterExit carries out the decision taken when the current generation
// ended, once its remnants are gone.
func (s *Supervisor) afterExit(e *ending) {
	d := e.decision
	switch {
	case d.Restart && (s.shutdown || s.exiting): // the shutdown came during clean-up
		s.exitWhenAlone(e.code)
	case d.Restart:
		s.restartsBy[e.reason]++
		s.wait(d.Delay, e.code)
	case d.Exhausted:
		var ages []int64
		for _, t := range s.restarts.History(e.at) {
			ages = append(ages, e.at.Sub(t).Milliseconds())
		}
		exit := budgetExitCode(e.code)
		s.log.Error("restart budget exhausted", "restarts", d.InWindow, "restart_max", s.cfg.Restart.Max,
			"window_ms", s.cfg.Restart.Window.Milliseconds(), "restart_ages_ms", ages, "last_reason", e.reason,
			"child_exit_code", e.code, "exit_code", exit)
		s.exitWhenAlone(exit)
	default:
		s.exitWhenAlone(e.code)
	}
}

// terminalBack takes the terminal's foreground back from a child that
// held it, so that Ctrl-C during a backoff wait reaches crinit. A child
// that died of the terminal's SIGINT or SIGQUIT (or exited 130 or 131, as
// a shell does) was interrupted by the user at the terminal, who means to
// stop, not to restart.
func (s *Supervisor) terminalBack(g *generation, ws syscall.WaitStatus) {
	code := ExitCode(ws)
	if code == exitSignalBase+int(syscall.SIGINT) || code == exitSignalBase+int(syscall.SIGQUIT) {
		if !s.shutdown {
			s.shutdown = true
			s.log.Info("shutdown requested", "signal", "terminal interrupt", "pid", g.pid)
		}
	}
	if err := s.host.reclaimTerminal(); err != nil {
		s.log.Debug("terminal not reclaimed", "error", err)
	}
}
