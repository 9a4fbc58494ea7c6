package supervisor

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/probe"
)

// ForwardTarget says who receives the signals crinit forwards.
type ForwardTarget string

// Forwarding targets.
const (
	ForwardGroup ForwardTarget = "group" // the child's whole process group
	ForwardChild ForwardTarget = "child" // the child process alone
)

// ParseForwardTarget reads a --forward-to value.
func ParseForwardTarget(s string) (ForwardTarget, error) {
	switch t := ForwardTarget(s); t {
	case ForwardGroup, ForwardChild:
		return t, nil
	}
	return "", fmt.Errorf("want %q or %q", ForwardGroup, ForwardChild)
}

// Config is what the supervisor needs to run a child. New checks it with
// Validate; the zero value of a field means "off" only where said.
type Config struct {
	// Argv is the child's command line; Argv[0] is looked up in PATH.
	Argv []string
	// Env is the child's environment.
	Env []string
	// ForwardTo is where forwarded signals go.
	ForwardTo ForwardTarget
	// StopTimeout is how long a shutdown waits for the child after
	// forwarding SIGTERM, SIGINT or SIGQUIT before it SIGKILLs the group.
	StopTimeout time.Duration
	// RemnantTimeout is how long processes left behind by an exited child
	// get between SIGTERM and SIGKILL.
	RemnantTimeout time.Duration
	// ProcRoot is the procfs mount to read the process tree from; empty
	// means /proc.
	ProcRoot string

	// Restart is the restart policy: mode, backoff and budget.
	Restart Policy
	// ReloadSignal, when not 0, restarts the child instead of being
	// forwarded, outside the restart budget.
	ReloadSignal syscall.Signal
	// KillTimeout is how long a child that crinit stops for a restart gets
	// between SIGTERM and SIGKILL.
	KillTimeout time.Duration

	// SampleInterval is how often the tree's RSS and descriptors are read.
	SampleInterval time.Duration
	// RSSLimit is the tree RSS, in bytes, that triggers a restart once it
	// has held for RSSGrace samples; 0 is off.
	RSSLimit uint64
	RSSGrace int
	// RSSWarn is the tree RSS, in bytes, that logs a warning (and takes a
	// heap snapshot); 0 is off.
	RSSWarn uint64
	// TrendHorizon: warn when the fitted growth reaches RSSLimit within it.
	TrendHorizon time.Duration
	// FDWarn and FDLimit are per-process descriptor thresholds, usually
	// shares of that process's RLIMIT_NOFILE; FDLimit restarts, off when 0.
	FDWarn, FDLimit limits.Threshold

	// HeapSnapshotDir, when set, is where node writes a heap snapshot on
	// SIGUSR2 (node must be started with --heapsnapshot-signal=SIGUSR2 and
	// --diagnostic-dir); crinit sends it when the tree first crosses RSSWarn
	// and keeps the newest HeapSnapshotKeep files.
	HeapSnapshotDir  string
	HeapSnapshotKeep int

	// OOMScoreAdj is written to the child's oom_score_adj, so that the
	// kernel's OOM killer picks node rather than crinit.
	OOMScoreAdj int
	// Cgroup is crinit's memory cgroup; nil when there is none.
	Cgroup *cgroup.Cgroup
	// Startup is the work begun early for Run (BeginStartup); nil: Run
	// begins it itself.
	Startup *Startup
	// PressureLimit restarts the child (reason memory_pressure) once every
	// task of the cgroup stalled on memory for a share of a window; the
	// zero value is off.
	PressureLimit PressureLimit
	// HeapMiB is node's heap limit given to each child (0: none); Argv and
	// Env are the command without it.
	HeapMiB uint64
	// AutoRSS and AutoHeap re-derive the RSS limit and the heap size when
	// the cgroup's memory limit changes (Kubernetes' in-place resize):
	// RSSWarnAt gives the warn level from the RSS limit. A new heap size
	// applies to the next child; ResizeRestart restarts the running one
	// when its heap may reach past a lowered limit.
	AutoRSS, AutoHeap bool
	RSSWarnAt         limits.Threshold
	ResizeRestart     bool

	// Probe, when not nil, checks every ProbeInterval that the app answers;
	// ProbePolicy decides when failures restart it (reason probe).
	Probe         *probe.Prober
	ProbeInterval time.Duration
	ProbePolicy   probe.Policy
	// ProbeStartInterval is the probe interval while a child is in its
	// start period, so that a new child is found ready quickly.
	ProbeStartInterval time.Duration
	// DrainDelay is how long a shutdown waits, not ready but with the child
	// untouched, before it forwards the signal, so that load balancers stop
	// sending traffic first.
	DrainDelay time.Duration
	// ShowArgv puts the child's argv in Status, which may hold secrets.
	ShowArgv bool

	// Files are passed to every child as descriptors 3, 4, …: the
	// listening sockets crinit holds. With them, restarts crinit plans
	// (rss_limit, fd_limit, probe, memory_pressure, resize) take no backoff delay: connections wait
	// in the sockets' backlog meanwhile.
	Files []*os.File
	// Shim, when set, starts each child through it (crinit's own binary,
	// which sets LISTEN_PID to the child's pid and execs COMMAND).
	Shim []string
	// Notify gives each child a pipe for readiness messages (READY=1),
	// announced in CRINIT_NOTIFY_FD.
	Notify bool
	// AwaitReady keeps a new child starting until it says READY=1, which
	// it must within ReadyTimeout, or it is stopped as a failed start.
	AwaitReady   bool
	ReadyTimeout time.Duration
	// Overlap starts the next child of a planned restart (rss_limit,
	// fd_limit, probe, reload) before stopping the child it replaces, once
	// the new one is ready, when the cgroup has room for both: OverlapReserve
	// bytes, or (0) the replaced child's RSS when it became ready.
	Overlap        bool
	OverlapReserve uint64
}

// Validate reports the first field that would make the supervisor fail or
// misbehave, naming the field and its value. The CLI checks its flags
// before this; Validate guards callers of the package itself.
func (c *Config) Validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"StopTimeout", c.StopTimeout}, {"RemnantTimeout", c.RemnantTimeout}, {"KillTimeout", c.KillTimeout},
		{"SampleInterval", c.SampleInterval}, {"TrendHorizon", c.TrendHorizon}, {"DrainDelay", c.DrainDelay},
		{"Restart.Delay", c.Restart.Delay}, {"Restart.DelayMax", c.Restart.DelayMax}, {"Restart.MinUptime", c.Restart.MinUptime},
		{"ProbeStartInterval", c.ProbeStartInterval}, {"ReadyTimeout", c.ReadyTimeout},
	}
	for _, d := range durations {
		if d.d < 0 {
			return fmt.Errorf("invalid %s %s: must not be negative", d.name, d.d)
		}
	}
	switch {
	case len(c.Argv) == 0 || c.Argv[0] == "":
		return fmt.Errorf("invalid Argv %q: a command is needed", c.Argv)
	case c.ForwardTo != ForwardGroup && c.ForwardTo != ForwardChild:
		return fmt.Errorf("invalid ForwardTo %q: want %q or %q", c.ForwardTo, ForwardGroup, ForwardChild)
	case c.Restart.Mode != OnFailure && c.Restart.Mode != Always && c.Restart.Mode != Never:
		return fmt.Errorf("invalid Restart.Mode %q: want %s, %s or %s", c.Restart.Mode, OnFailure, Always, Never)
	case c.Restart.Max < 0:
		return fmt.Errorf("invalid Restart.Max %d: must not be negative", c.Restart.Max)
	case c.Restart.Window <= 0:
		return fmt.Errorf("invalid Restart.Window %s: must be above 0", c.Restart.Window)
	case c.Restart.DelayMax < c.Restart.Delay:
		return fmt.Errorf("invalid Restart.DelayMax %s: below Restart.Delay %s", c.Restart.DelayMax, c.Restart.Delay)
	case c.RSSGrace < 0:
		return fmt.Errorf("invalid RSSGrace %d: must not be negative", c.RSSGrace)
	case c.HeapSnapshotDir != "" && c.HeapSnapshotKeep < 1:
		return fmt.Errorf("invalid HeapSnapshotKeep %d: must be 1 or more", c.HeapSnapshotKeep)
	case c.OOMScoreAdj < -1000 || c.OOMScoreAdj > 1000:
		return fmt.Errorf("invalid OOMScoreAdj %d: want -1000 to 1000", c.OOMScoreAdj)
	case c.AwaitReady && (!c.Notify || c.ReadyTimeout <= 0):
		return fmt.Errorf("invalid ReadyTimeout %s: awaiting readiness needs Notify and a timeout above 0", c.ReadyTimeout)
	case c.Probe != nil && c.ProbeInterval <= 0:
		return fmt.Errorf("invalid ProbeInterval %s: a probe needs an interval above 0", c.ProbeInterval)
	case c.PressureLimit.Share < 0 || c.PressureLimit.Share > 1 || c.PressureLimit.Window < 0:
		return fmt.Errorf("invalid PressureLimit %s: want a share of 0 to 1 and a window of 0 or more", c.PressureLimit)
	case c.Probe != nil && c.ProbePolicy.Retries < 1:
		return fmt.Errorf("invalid ProbePolicy.Retries %d: must be 1 or more", c.ProbePolicy.Retries)
	}
	return nil
}
