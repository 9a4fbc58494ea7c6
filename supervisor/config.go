package supervisor

import (
	"fmt"
	"time"
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

// Config is what the supervisor needs to run a child. It is validated by
// the caller; the zero value of a field means "off" only where said.
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
}
