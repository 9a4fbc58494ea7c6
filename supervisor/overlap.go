package supervisor

import (
	"bufio"
	"io"
	"strings"
	"time"

	"github.com/crinit/crinit/cgroup"
)

// note is one line a child wrote to its notify pipe.
type note struct {
	gen int // the generation whose pipe it came through; 0: from NOTIFY_SOCKET
	pid int // the sender, for NOTIFY_SOCKET: a generation's child itself
	msg string
}

// readNotes hands each line of a generation's notify pipe to the loop,
// on a goroutine of its own that ends with the pipe or the loop.
func (s *Supervisor) readNotes(gen int, r io.Reader) {
	out, quit := s.notes, s.quit
	worker(&s.readers, "notify reader", s.panics, func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case out <- note{gen: gen, msg: sc.Text()}:
			case <-quit:
				return
			}
		}
	})
}

// onNote acts on one readiness message: READY=1 (sd_notify's word, which
// the node preload sends once the app listens on a held socket), and the
// preload's own CRINIT_UNHELD and CRINIT_STOPPING.
func (s *Supervisor) onNote(n note) {
	var g *generation
	for _, o := range s.gens {
		if o.alive() && (o.id == n.gen || n.gen == 0 && o.pid == n.pid) {
			g = o
		}
	}
	if g == nil {
		return
	}
	key, value, _ := strings.Cut(n.msg, "=")
	switch key {
	case "READY":
		if value == "1" && g.phase == PhaseStarting {
			s.becameReady(g, time.Now())
		}
	case "CRINIT_UNHELD":
		if !s.unheld[value] {
			s.unheld[value] = true
			s.log.Warn("listen not held", "pid", g.pid, "generation", g.id, "address", value)
		}
	case "CRINIT_STOPPING":
		s.log.Info("child stopping gracefully", "pid", g.pid, "generation", g.id)
	}
}

// becameReady moves a starting generation to running; the generations it
// replaces are stopped now that it serves.
func (s *Supervisor) becameReady(g *generation, now time.Time) {
	if !s.move(g, PhaseRunning, time.Time{}) {
		return
	}
	g.readyAt = now
	if s.cfg.AwaitReady {
		s.log.Info("child ready", "pid", g.pid, "generation", g.id, "ready_ms", now.Sub(g.started).Milliseconds())
	}
	s.paceProbe()
	for _, o := range s.gens {
		if o != g && o.replacing != "" && o.serving() {
			s.stop(o, o.replacing, s.cfg.KillTimeout)
		}
	}
}

// notReady stops a child that did not become ready in time: a failed start.
func (s *Supervisor) notReady(g *generation) {
	s.log.Warn("child not ready", "pid", g.pid, "generation", g.id, "ready_timeout_ms", s.cfg.ReadyTimeout.Milliseconds())
	s.stop(g, ReasonNotReady, s.cfg.KillTimeout)
}

// restart restarts g for reason, a restart crinit plans: overlapped when
// it may be (the next child starts first and g is stopped once it is
// ready), else by stopping g first and letting the policy decide at its
// exit.
func (s *Supervisor) restart(g *generation, reason Reason) {
	if g.replacing != "" {
		// Its successor is starting: g serves until that one is ready,
		// unless the cgroup runs out of room for both.
		if room, need, _, ok := s.headroom(g); !ok {
			s.log.Warn("overlap cut short", "pid", g.pid, "generation", g.id, "reason", reason,
				"headroom_bytes", room, "needed_bytes", need)
			s.stop(g, g.replacing, s.cfg.KillTimeout)
		}
		return
	}
	if g != s.current || !s.canOverlap(g) {
		s.stop(g, reason, s.cfg.KillTimeout)
		return
	}
	now := time.Now()
	d := Decision{Restart: true, InWindow: s.restarts.InWindow(now)}
	if reason != ReasonReload { // a reload is the operator's: outside the budget
		d = s.restarts.Planned(now)
	}
	if !d.Restart {
		s.stop(g, reason, s.cfg.KillTimeout) // the policy says why at its exit
		return
	}
	g.replacing = reason
	s.restartsBy[reason]++
	s.log.Info("overlap started", "pid", g.pid, "generation", g.id, "reason", reason, "restarts_in_window", d.InWindow)
	if _, err := s.spawn(); err != nil {
		s.log.Warn("overlap skipped", "pid", g.pid, "generation", g.id, "cause", "start failed", "error", err)
		g.replacing = ""
		s.stop(g, reason, s.cfg.KillTimeout)
	}
}

// canOverlap reports whether g's successor may start while g runs: the
// cgroup must have room for a second child.
func (s *Supervisor) canOverlap(g *generation) bool {
	if !s.cfg.Overlap || len(s.alive()) > 1 {
		return false
	}
	room, need, m, ok := s.headroom(g)
	if !ok {
		s.log.Warn("overlap skipped", "pid", g.pid, "generation", g.id, "cause", "headroom", "headroom_bytes", room,
			"needed_bytes", need, "limit_bytes", m.Limit, "usage_bytes", m.Usage)
	}
	return ok
}

// headroom reports whether the cgroup has room for a child beside g:
// limit − usage of at least OverlapReserve, or g's RSS when it became
// ready. Without a limit there is nothing to run out of.
func (s *Supervisor) headroom(g *generation) (room, need uint64, m cgroup.Memory, ok bool) {
	m, known := s.host.memory()
	if !known || m.Limit == 0 {
		return 0, 0, m, true
	}
	need = s.cfg.OverlapReserve
	if need == 0 {
		need = g.readyRSS
	}
	if m.Limit > m.Usage {
		room = m.Limit - m.Usage
	}
	return room, need, m, room >= need
}

// alive lists the generations whose process runs, oldest first.
func (s *Supervisor) alive() []*generation {
	var out []*generation
	for _, g := range s.gens {
		if g.alive() {
			out = append(out, g)
		}
	}
	return out
}

// exitWhenAlone ends supervision with code once no generation is left:
// those still running are stopped first.
func (s *Supervisor) exitWhenAlone(code int) {
	if len(s.gens) == 0 {
		s.finish(code)
		return
	}
	s.exiting, s.exitCode = true, code
	for _, g := range s.gens {
		if g.serving() || g.phase == PhaseStarting {
			s.stop(g, ReasonShutdown, s.cfg.StopTimeout)
		}
	}
}
