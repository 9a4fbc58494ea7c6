package supervisor

import (
	"syscall"
	"time"
)

const (
	// remnantPoll is how often the tree is rescanned while remnants die.
	remnantPoll = 50 * time.Millisecond
	// killWait bounds the wait for SIGKILLed processes to be reaped; a
	// process stuck in uninterruptible sleep must not hold crinit forever.
	killWait = time.Second
)

// beginCleanup moves a reaped generation to cleaning and sends SIGTERM to
// whatever outlived the child. The rest runs on the loop's timer, like
// everything else: SIGKILL after RemnantTimeout, give up after killWait.
// Signals, samples and probes keep being handled meanwhile.
func (s *Supervisor) beginCleanup(g *generation, now time.Time) {
	g.cleanSig, g.cleanPoll = 0, time.Time{}
	if s.move(g, PhaseCleaning, now) {
		// The first step at once, as part of the exit: with nothing left
		// behind, the exit's decision (a backoff wait, say) is in force
		// before the loop handles the next event.
		s.cleanStep(g, syscall.SIGTERM, now)
	}
}

// cleaning returns the generations whose remnants are being cleared.
func (s *Supervisor) cleaning() []*generation {
	var out []*generation
	for _, g := range s.gens {
		if g.phase == PhaseCleaning {
			out = append(out, g)
		}
	}
	return out
}

// cleanTimers escalates g's clean-up at its deadline and polls for
// remnants in between.
func (s *Supervisor) cleanTimers(g *generation, now time.Time) {
	switch {
	case now.Before(g.deadline):
		if !g.cleanPoll.IsZero() && !now.Before(g.cleanPoll) {
			s.checkRemnants(g, now)
		}
	case g.cleanSig == 0:
		s.cleanStep(g, syscall.SIGTERM, now)
	case g.cleanSig == syscall.SIGTERM:
		s.cleanStep(g, syscall.SIGKILL, now)
	default:
		s.log.Warn("remnants survived SIGKILL", "pid", g.pid, "wait_ms", killWait.Milliseconds())
		s.endCleanup(g)
	}
}

// cleanStep sends sig to g's remnants, logging each, and waits for them:
// RemnantTimeout after SIGTERM, killWait after SIGKILL. With none left
// the clean-up is over.
func (s *Supervisor) cleanStep(g *generation, sig syscall.Signal, now time.Time) {
	wait := s.cfg.RemnantTimeout
	if sig == syscall.SIGKILL {
		wait = killWait
	}
	// Step and deadline first: a panic below must not repeat this step.
	g.cleanSig, g.deadline, g.cleanPoll = sig, now.Add(wait), now.Add(remnantPoll)
	left := s.killTree(g, sig)
	if len(left) == 0 {
		s.endCleanup(g)
		return
	}
	for _, p := range left {
		s.log.Info("remnant killed", "pid", p.PID, "command", p.Command, "signal", signalName(sig))
	}
}

// cleanNow skips what is left of g's clean-up's grace, for a shutdown:
// SIGTERM (when not sent yet) and SIGKILL at once; when SIGKILL was sent
// already, crinit waits no longer.
func (s *Supervisor) cleanNow(g *generation) {
	now := time.Now()
	switch g.cleanSig {
	case 0:
		if s.cleanStep(g, syscall.SIGTERM, now); g.phase == PhaseCleaning {
			s.cleanStep(g, syscall.SIGKILL, now)
		}
	case syscall.SIGTERM:
		s.cleanStep(g, syscall.SIGKILL, now)
	default:
		s.log.Warn("remnants survived SIGKILL", "pid", g.pid, "wait_ms", 0)
		s.endCleanup(g)
	}
}

// checkRemnants ends g's clean-up when nothing it left is alive.
func (s *Supervisor) checkRemnants(g *generation, now time.Time) {
	if g.cleanSig == 0 {
		return // not signalled yet: the first step looks anyway
	}
	g.cleanPoll = now.Add(remnantPoll)
	if left, err := s.remnants(g); err == nil && len(left) == 0 {
		s.endCleanup(g)
	}
}

// endCleanup retires g; when it was the current generation, its exit's
// decision is carried out now.
func (s *Supervisor) endCleanup(g *generation) {
	if !s.move(g, PhaseExited, time.Time{}) {
		return
	}
	for i, o := range s.gens {
		if o == g {
			s.gens = append(s.gens[:i], s.gens[i+1:]...)
			break
		}
	}
	if g.notes != nil {
		_ = g.notes.Close()
	}
	if s.cfg.HeapSnapshotDir != "" {
		s.pruneSnapshots(s.cfg.HeapSnapshotKeep)
	}
	switch {
	case g.end.current:
		s.afterExit(g.end)
	case g.replacing != "":
		s.log.Info("old child drained", "pid", g.pid, "generation", g.id, "reason", g.replacing,
			"exit_code", g.end.code, "drain_ms", g.end.at.Sub(g.stopAt).Milliseconds())
	}
	if s.exiting && len(s.gens) == 0 {
		s.finish(s.exitCode)
	}
}

// remnants lists the processes that belong to g: crinit's descendants
// but those of another living generation. Orphans reparented to crinit
// count as g's: after a setsid or a double fork a process leaves the group
// but stays in crinit's tree.
func (s *Supervisor) remnants(g *generation) ([]proc, error) {
	all, err := s.host.descendants()
	if err != nil {
		return nil, err
	}
	others := map[int]bool{}
	for _, o := range s.gens {
		if o != g && o.alive() {
			others[o.pid] = true
		}
	}
	out := all[:0]
	for _, p := range all {
		if others[p.PID] || others[p.PPID] {
			others[p.PID] = true // parents come first: the whole subtree is skipped
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// killTree sends sig to g's process group and to each of its remnants.
// It lists them first: once signalled, a process may be a zombie before it
// is looked at.
func (s *Supervisor) killTree(g *generation, sig syscall.Signal) []proc {
	left, err := s.remnants(g)
	if err != nil {
		s.log.Warn("cannot list descendants", "error", err)
	}
	if err := s.host.signal(-g.pid, sig); err != nil {
		s.log.Warn("cannot signal process group", "pgid", g.pid, "signal", signalName(sig), "error", err)
	}
	for _, p := range left {
		if err := s.host.signal(p.PID, sig); err != nil {
			s.log.Warn("cannot signal process", "pid", p.PID, "signal", signalName(sig), "error", err)
		}
	}
	return left
}
