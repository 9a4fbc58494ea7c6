package probe

import "time"

// Policy holds the HEALTHCHECK-style rules that judge results.
type Policy struct {
	Retries     int           // consecutive failures that make the app unhealthy
	StartPeriod time.Duration // failures in it do not count; a success ends it
}

// Tracker judges the results of probing one child, from its start.
type Tracker struct {
	p        Policy
	started  time.Time
	starting bool // still in the start period
	healthy  bool // the last counted result was a success
	failures int  // consecutive counted failures
}

// Verdict is what one result means.
type Verdict struct {
	Counted   bool // the result counts (not a failure inside the start period)
	Healthy   bool // the app is healthy now
	Failures  int  // consecutive failures so far
	Unhealthy bool // this failure reached Retries: restart
	Recovered bool // a success after counted failures or after the start
}

// NewTracker starts judging a child that started at started.
func NewTracker(p Policy, started time.Time) *Tracker {
	return &Tracker{p: p, started: started, starting: true}
}

// Healthy reports whether the last counted result was a success.
func (t *Tracker) Healthy() bool { return t.healthy }

// Starting reports whether the start period is still running.
func (t *Tracker) Starting() bool { return t.starting }

// Failures is the number of consecutive counted failures.
func (t *Tracker) Failures() int { return t.failures }

// Observe takes one result.
func (t *Tracker) Observe(r Result) Verdict {
	if t.starting && r.Start.Sub(t.started) >= t.p.StartPeriod {
		t.starting = false
	}
	if r.OK {
		v := Verdict{Counted: true, Healthy: true, Recovered: !t.healthy}
		t.starting, t.healthy, t.failures = false, true, 0
		return v
	}
	if t.starting {
		return Verdict{Failures: t.failures}
	}
	t.failures++
	t.healthy = false
	return Verdict{Counted: true, Failures: t.failures, Unhealthy: t.failures == t.p.Retries}
}
