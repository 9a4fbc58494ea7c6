package supervisor

import (
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"

	"github.com/crinit/crinit/probe"
)

// Phase is where one child generation stands. A generation moves forward
// only, through enter, which sets the phase and its deadline together;
// within a phase the loop may only clear or push back that deadline.
type Phase string

// The phases of a generation.
const (
	PhaseStarting Phase = "starting" // forked, not serving yet
	PhaseRunning  Phase = "running"  // serving; samples and probes judge it
	PhaseDraining Phase = "draining" // a shutdown is held back for --drain-delay: not ready, untouched
	PhaseStopping Phase = "stopping" // crinit signalled it; SIGKILL at the deadline
	PhaseCleaning Phase = "cleaning" // reaped; what it left behind is being ended
	PhaseExited   Phase = "exited"   // gone, remnants included
)

// next lists the phases each phase may move to.
func next(p Phase) []Phase {
	switch p {
	case PhaseStarting:
		return []Phase{PhaseRunning, PhaseStopping, PhaseCleaning}
	case PhaseRunning:
		return []Phase{PhaseDraining, PhaseStopping, PhaseCleaning}
	case PhaseDraining:
		return []Phase{PhaseStopping, PhaseCleaning}
	case PhaseStopping:
		return []Phase{PhaseCleaning}
	case PhaseCleaning:
		return []Phase{PhaseExited}
	}
	return nil
}

// generation is one child process, from its fork to the end of its
// remnants. Several may be alive at once (one draining while the next
// starts); each carries its own state. Only the loop goroutine touches it.
type generation struct {
	id         int // 1 for the first child
	pid        int
	phase      Phase
	deadline   time.Time // when the phase's timer fires; zero: none
	started    time.Time
	foreground bool   // it holds the terminal's foreground
	oomKills   uint64 // the cgroup's oom_kill count at its start

	stopReason Reason         // why crinit stops it; "" when it does not
	held       syscall.Signal // draining: the shutdown signal to forward at the deadline
	sentKill   bool           // crinit sent SIGKILL to its tree
	end        *ending        // how it ended, once reaped

	cleanSig  syscall.Signal // cleaning: the last signal sent to its remnants; 0 before the first
	cleanPoll time.Time      // cleaning: when to look for remnants again

	notes        io.Closer // the notify pipe's read end; nil without one
	replacing    Reason    // a planned restart started its successor; "" when none
	stopAt       time.Time // when crinit began to stop it
	readyAt      time.Time // when it became ready (running)
	heapMiB      uint64    // node's heap limit it was started with; 0: none set by crinit
	argv         []string  // the command line it was started with
	limitAtStart uint64    // the cgroup's memory limit when it started
	heapWarned   bool      // its heap was found at or over a changed limit
	rss          uint64    // its tree's RSS at the last sample
	readyRSS     uint64    // its tree's RSS at the first sample after it became ready

	probe        *probe.Tracker
	mem          *memWatch
	fdWarned     map[int]bool
	oomChecked   map[int]bool // tree members whose oom_score_adj was checked
	snapshotSent bool
}

// ending is how a generation ended and what the restart policy made of it.
type ending struct {
	at       time.Time
	status   syscall.WaitStatus
	code     int
	reason   Reason
	decision Decision
	// current says it was the supervisor's newest generation: only its end
	// decides on a restart or crinit's exit.
	current bool
}

// newGeneration is the id-th child, just forked as pid at now, judged
// against the RSS limit and warn level in force.
func newGeneration(id, pid int, foreground bool, now time.Time, cfg *Config, rssLimit, rssWarn uint64) *generation {
	return &generation{
		id:         id,
		pid:        pid,
		phase:      PhaseStarting,
		started:    now,
		foreground: foreground,
		probe:      probe.NewTracker(cfg.ProbePolicy, now),
		mem:        newMemWatch(rssLimit, rssWarn, cfg.RSSGrace, cfg.TrendHorizon),
		fdWarned:   map[int]bool{},
		oomChecked: map[int]bool{pid: true},
	}
}

// enter moves g to phase to, whose timer fires at deadline (zero: none).
// It is the only place a phase changes; a move the lifecycle does not
// allow is an error and changes nothing.
func (g *generation) enter(to Phase, deadline time.Time) error {
	if !slices.Contains(next(g.phase), to) {
		return fmt.Errorf("generation %d (pid %d): no move from %s to %s", g.id, g.pid, g.phase, to)
	}
	g.phase, g.deadline = to, deadline
	return nil
}

// alive reports whether g's process has not been reaped yet.
func (g *generation) alive() bool {
	return g.phase == PhaseStarting || g.phase == PhaseRunning || g.phase == PhaseDraining || g.phase == PhaseStopping
}

// serving reports whether samples and probes judge g: it runs and crinit is
// not stopping it.
func (g *generation) serving() bool {
	return g.phase == PhaseRunning || g.phase == PhaseDraining
}

// wakeAt is the earliest time g needs the loop's attention; zero: never.
func (g *generation) wakeAt() time.Time {
	if g.phase == PhaseCleaning && !g.cleanPoll.IsZero() && (g.deadline.IsZero() || g.cleanPoll.Before(g.deadline)) {
		return g.cleanPoll
	}
	return g.deadline
}
