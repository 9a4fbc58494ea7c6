package supervisor

import (
	"fmt"
	"time"
)

// Mode is the restart policy's answer to "restart after which exits?".
type Mode string

// Restart modes, as in Docker's restart policies.
const (
	OnFailure Mode = "on-failure" // restart unless the child exited 0 by itself
	Always    Mode = "always"     // restart after every exit
	Never     Mode = "never"      // never restart: crinit exits with the child
)

// ParseMode reads a --restart value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case OnFailure, Always, Never:
		return m, nil
	}
	return "", fmt.Errorf("want %s, %s or %s", OnFailure, Always, Never)
}

// Policy is the restart configuration.
type Policy struct {
	Mode      Mode
	Delay     time.Duration // first backoff delay
	DelayMax  time.Duration // the doubling stops here
	MinUptime time.Duration // a child up this long resets the backoff
	Max       int           // restarts allowed in any Window
	Window    time.Duration // the sliding window of the budget
}

// Decision is what to do after a child's death.
type Decision struct {
	Restart   bool
	Delay     time.Duration // before the next start
	InWindow  int           // restarts in the window, this one included
	Exhausted bool          // the budget forbids another restart
	Why       string        // why there is no restart
}

// Restarts applies a Policy to a sequence of deaths. It holds the backoff
// and the budget's history and is a plain value: time comes in as now.
type Restarts struct {
	p       Policy
	history []time.Time // restart times inside the window, oldest first
	next    time.Duration
}

// NewRestarts returns the restart state for p.
func NewRestarts(p Policy) *Restarts {
	return &Restarts{p: p}
}

// Decide says whether and when to restart a child that ended at now after
// uptime, for reason, with exit code code.
func (r *Restarts) Decide(now time.Time, uptime time.Duration, reason Reason, code int) Decision {
	switch {
	case reason == ReasonShutdown:
		return Decision{Why: "shutdown", InWindow: r.InWindow(now)}
	case reason == ReasonReload:
		// Asked for by the operator: immediate and outside the budget.
		return Decision{Restart: true, InWindow: r.InWindow(now)}
	case r.p.Mode == Never:
		return Decision{Why: "restart policy never", InWindow: r.InWindow(now)}
	case r.p.Mode == OnFailure && reason == ReasonExit && code == 0:
		return Decision{Why: "clean exit", InWindow: r.InWindow(now)}
	}
	if uptime >= r.p.MinUptime {
		r.next = 0
	}
	r.history = r.history[r.expired(now):]
	if n := r.InWindow(now); n >= r.p.Max {
		return Decision{Exhausted: true, InWindow: n, Why: "budget exhausted"}
	}
	delay := r.next
	if delay == 0 {
		delay = r.p.Delay
	}
	r.next = min(2*delay, r.p.DelayMax)
	r.history = append(r.history, now)
	return Decision{Restart: true, Delay: delay, InWindow: len(r.history)}
}

// Planned decides on a restart crinit plans while the sockets it holds
// keep connections waiting: it counts in the budget, but takes no backoff
// delay and leaves the backoff as it was, which is for failures.
func (r *Restarts) Planned(now time.Time) Decision {
	if r.p.Mode == Never {
		return Decision{Why: "restart policy never", InWindow: r.InWindow(now)}
	}
	r.history = r.history[r.expired(now):]
	if n := len(r.history); n >= r.p.Max {
		return Decision{Exhausted: true, InWindow: n, Why: "budget exhausted"}
	}
	r.history = append(r.history, now)
	return Decision{Restart: true, InWindow: len(r.history)}
}

// InWindow counts the restarts within the window that ends at now. It is
// a pure query: only Decide forgets restarts that left the window.
func (r *Restarts) InWindow(now time.Time) int {
	return len(r.history) - r.expired(now)
}

// History returns the restart times inside the window ending at now,
// oldest first.
func (r *Restarts) History(now time.Time) []time.Time {
	return append([]time.Time(nil), r.history[r.expired(now):]...)
}

// expired counts the restarts, oldest first, that are outside the window
// ending at now.
func (r *Restarts) expired(now time.Time) int {
	i := 0
	for i < len(r.history) && !r.history[i].After(now.Add(-r.p.Window)) {
		i++
	}
	return i
}
