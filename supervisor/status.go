package supervisor

import (
	"maps"
	"time"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/probe"
)

// State is where supervision stands, as /status shows it: the supervisor's
// own state (backoff, done) or else its current generation's phase.
type State string

// The supervisor's states.
const (
	StateStarting State = "starting" // the child is being started
	StateRunning  State = "running"  // the child runs (draining included)
	StateStopping State = "stopping" // crinit signalled the child, waiting for its exit
	StateCleaning State = "cleaning" // the child exited; its remnants are being ended
	StateBackoff  State = "backoff"  // waiting to restart
	StateDone     State = "done"
)

// ProbeState is the liveness probe's view of the running child.
type ProbeState string

// The probe's states.
const (
	ProbeStarting  ProbeState = "starting"  // in the start period, no success yet
	ProbeHealthy   ProbeState = "healthy"   // the last counted probe passed
	ProbeUnhealthy ProbeState = "unhealthy" // the last counted probe failed
)

// Status is a snapshot of the supervisor for crinit's endpoint. The loop
// publishes a new one after every event; a published Status is never
// modified, so readers on other goroutines need no lock.
type Status struct {
	State            State            `json:"state"`
	ShuttingDown     bool             `json:"shutting_down"`
	Draining         bool             `json:"draining"`
	Child            *ChildStatus     `json:"child"`
	Children         []ChildStatus    `json:"children"` // every child alive, oldest first: two during an overlapped restart
	Starts           int              `json:"starts"`
	RestartsInWindow int              `json:"restarts_in_window"`
	RestartMax       int              `json:"restart_max"` // the budget: restarts allowed in the window (0: none)
	LastExit         *ExitStatus      `json:"last_exit"`
	ExitsByReason    map[Reason]int64 `json:"exits_by_reason"`
	RestartsByReason map[Reason]int64 `json:"restarts_by_reason"`
	OrphansReaped    int64            `json:"orphans_reaped"`
	Tree             *TreeStatus      `json:"tree"`
	Cgroup           *cgroup.Memory   `json:"cgroup"`
	Probe            *ProbeStatus     `json:"probe"`
	// InForce holds the sizes in force, which follow the cgroup's limit
	// where they are auto; /status shows them among the limits.
	InForce *InForce `json:"-"`
}

// InForce is what a resize may change of the limits crinit applies.
type InForce struct {
	RSSLimit uint64 // bytes
	RSSWarn  uint64 // bytes
	HeapMiB  uint64 // node's heap for the next child; 0: none set by crinit
}

// ChildStatus describes the running child.
type ChildStatus struct {
	PID        int       `json:"pid"`
	Generation int       `json:"generation"` // 1 for the first child
	Phase      Phase     `json:"phase"`
	Started    time.Time `json:"started"`
	RSSBytes   uint64    `json:"rss_bytes"` // its tree's, at the last sample
	Argv       []string  `json:"argv,omitempty"`
}

// ExitStatus describes how the last child ended.
type ExitStatus struct {
	PID      int       `json:"pid"`
	At       time.Time `json:"at"`
	Code     int       `json:"exit_code"`
	Signal   string    `json:"signal,omitempty"`
	Reason   Reason    `json:"reason"`
	UptimeMS int64     `json:"uptime_ms"`
}

// TreeStatus is the last sample of the child's process tree.
type TreeStatus struct {
	At        time.Time `json:"at"`
	Processes int       `json:"processes"`
	RSSBytes  uint64    `json:"rss_bytes"`
	FDs       int       `json:"fds"`     // summed over the tree
	MaxFDs    int       `json:"max_fds"` // of the process holding most
}

// ProbeStatus is the liveness probe's state for the running child.
type ProbeStatus struct {
	Target        string        `json:"target"`
	State         ProbeState    `json:"state"`
	Failures      int           `json:"consecutive_failures"`
	FailuresTotal int64         `json:"failures_total"`
	Count         int64         `json:"probes_total"`
	DurationSum   time.Duration `json:"-"`
	Last          *ProbeLast    `json:"last"`
}

// ProbeLast is the last probe's outcome.
type ProbeLast struct {
	At         time.Time `json:"at"`
	OK         bool      `json:"ok"`
	Cause      string    `json:"cause,omitempty"`
	HTTPStatus int       `json:"http_status,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
}

// Live is /healthz: a child is up and crinit is not shutting down.
func (s *Status) Live() bool {
	return s.Child != nil && !s.ShuttingDown && (s.State == StateRunning || s.State == StateStopping)
}

// Ready is /readyz: the child is up, crinit is not draining or shutting
// down, and the probe, if any, passes.
func (s *Status) Ready() bool {
	return s.Child != nil && s.State == StateRunning && !s.ShuttingDown && !s.Draining &&
		(s.Probe == nil || s.Probe.State == ProbeHealthy)
}

// record counts one probe result and returns it as ProbeLast.
func (p *ProbeStatus) record(r probe.Result) *ProbeLast {
	p.Count++
	p.DurationSum += r.Duration
	last := &ProbeLast{At: r.Start, OK: r.OK, Cause: r.Cause, HTTPStatus: r.Status,
		DurationMS: float64(r.Duration.Microseconds()) / 1000}
	if r.Err != nil {
		last.Error = r.Err.Error()
	}
	p.Last = last
	if !r.OK {
		p.FailuresTotal++
	}
	return last
}

// counters are the facts the loop keeps for Status across generations.
type counters struct {
	starts      int              // children started
	orphans     int64            // exits of processes other than a child, reaped by crinit
	exits       map[Reason]int64 // children ended, by reason
	restartsBy  map[Reason]int64 // restarts, by the reason the child before ended
	lastExit    *ExitStatus
	lastArgv    []string // the command line of lastExit's child
	tree        *TreeStatus
	cgroup      *cgroup.Memory
	probeSt     ProbeStatus // across children; State and Failures are the current one's
	published   time.Time   // when publish last ran
	orphansOnly bool        // the last event only reaped orphans
	unchanged   bool        // the last event changed nothing /status shows (a signal forwarded)
	stale       bool        // an orphan count waits to be published
}

func newCounters() counters {
	return counters{exits: map[Reason]int64{}, restartsBy: map[Reason]int64{}}
}

// Status returns the last published snapshot; it is safe to call from any
// goroutine, and never nil once New has returned.
func (s *Supervisor) Status() *Status {
	if st := s.status.Load(); st != nil {
		return st
	}
	return &Status{State: StateStarting}
}

// state is the supervisor's State: its own, or its current generation's.
func (s *Supervisor) state() State {
	if s.done {
		return StateDone
	}
	g := s.front()
	switch {
	case g != nil && g.serving():
		return StateRunning // a replaced child serves while its successor starts or backs off
	case s.backoff != nil:
		return StateBackoff
	case s.current == nil:
		return StateStarting
	}
	switch s.current.phase {
	case PhaseStarting:
		return StateStarting
	case PhaseRunning, PhaseDraining:
		return StateRunning
	case PhaseStopping:
		return StateStopping
	}
	return StateCleaning
}

// front is the generation that serves: the newest one running, or else
// the current one while it lives. During an overlapped restart it is the
// old child until the new one is ready.
func (s *Supervisor) front() *generation {
	for i := len(s.gens) - 1; i >= 0; i-- {
		if s.gens[i].serving() {
			return s.gens[i]
		}
	}
	return s.live()
}

// publish makes the current state visible to Status.
func (s *Supervisor) publish() {
	// First: a publish that panics must not be retried in a busy loop.
	s.published, s.stale = time.Now(), false
	g := s.front()
	st := &Status{
		State:            s.state(),
		ShuttingDown:     s.shutdown,
		Draining:         g != nil && g.phase == PhaseDraining,
		Starts:           s.starts,
		RestartsInWindow: s.restarts.InWindow(time.Now()),
		RestartMax:       s.cfg.Restart.Max,
		LastExit:         s.lastExit,
		ExitsByReason:    maps.Clone(s.exits),
		RestartsByReason: maps.Clone(s.restartsBy),
		OrphansReaped:    s.orphans,
		Tree:             s.tree,
		Cgroup:           s.cgroup,
		InForce:          &InForce{RSSLimit: s.mem.rssLimit, RSSWarn: s.mem.rssWarn, HeapMiB: s.mem.heapMiB},
	}
	for _, a := range s.alive() {
		c := ChildStatus{PID: a.pid, Generation: a.id, Phase: a.phase, Started: a.started, RSSBytes: a.rss}
		if s.cfg.ShowArgv {
			c.Argv = s.cfg.Argv
		}
		st.Children = append(st.Children, c)
		if a == g {
			st.Child = &st.Children[len(st.Children)-1]
		}
	}
	if s.cfg.Probe != nil {
		p := s.probeSt
		p.State = ProbeStarting
		if g != nil {
			p.Failures = g.probe.Failures()
			switch {
			case g.probe.Healthy():
				p.State = ProbeHealthy
			case !g.probe.Starting():
				p.State = ProbeUnhealthy
			}
		}
		st.Probe = &p
	}
	s.status.Store(st)
}
