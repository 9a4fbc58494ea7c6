package supervisor

import (
	"time"

	"github.com/crinit/crinit/cgroup"
)

// Status is a snapshot of the supervisor for crinit's endpoint. The loop
// publishes a new one after every event; a published Status is never
// modified, so readers on other goroutines need no lock.
type Status struct {
	State            State            `json:"state"`
	ShuttingDown     bool             `json:"shutting_down"`
	Draining         bool             `json:"draining"`
	Child            *ChildStatus     `json:"child"`
	Starts           int              `json:"starts"`
	RestartsInWindow int              `json:"restarts_in_window"`
	LastExit         *ExitStatus      `json:"last_exit"`
	ExitsByReason    map[Reason]int64 `json:"exits_by_reason"`
	RestartsByReason map[Reason]int64 `json:"restarts_by_reason"`
	OrphansReaped    int64            `json:"orphans_reaped"`
	Tree             *TreeStatus      `json:"tree"`
	Cgroup           *cgroup.Memory   `json:"cgroup"`
	Probe            *ProbeStatus     `json:"probe"`
}

// ChildStatus describes the running child.
type ChildStatus struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Argv    []string  `json:"argv,omitempty"`
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
	State         string        `json:"state"` // starting, healthy, unhealthy
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
		(s.Probe == nil || s.Probe.State == "healthy")
}
