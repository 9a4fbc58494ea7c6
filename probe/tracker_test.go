package probe

import (
	"testing"
	"time"
)

// t0 is when the tracked child started; results carry times as values.
var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func ok(at time.Duration) Result   { return Result{Start: t0.Add(at), OK: true, Status: 200} }
func fail(at time.Duration) Result { return Result{Start: t0.Add(at), Cause: CauseRefused} }

// step is one result fed to a tracker and what it must make of it.
type step struct {
	r        Result
	want     Verdict
	starting bool // Starting() after the result
}

func TestTracker(t *testing.T) {
	p := Policy{Retries: 3, StartPeriod: 40 * time.Second}
	tests := []struct {
		name  string
		steps []step
	}{
		{"failures in the start period do not count", []step{
			{fail(time.Second), Verdict{}, true},
			{fail(10 * time.Second), Verdict{}, true},
			{fail(39 * time.Second), Verdict{}, true},
			{fail(39*time.Second + 999*time.Millisecond), Verdict{}, true},
		}},
		{"first success ends the start period and recovers", []step{
			{fail(time.Second), Verdict{}, true},
			{ok(2 * time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
			{ok(3 * time.Second), Verdict{Counted: true, Healthy: true}, false},
		}},
		{"after the start period, failures count", []step{
			{ok(time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
			{fail(2 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{fail(3 * time.Second), Verdict{Counted: true, Failures: 2}, false},
		}},
		{"unhealthy exactly at the Retries-th failure, not before or again after", []step{
			{ok(time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
			{fail(2 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{fail(3 * time.Second), Verdict{Counted: true, Failures: 2}, false},
			{fail(4 * time.Second), Verdict{Counted: true, Failures: 3, Unhealthy: true}, false},
			{fail(5 * time.Second), Verdict{Counted: true, Failures: 4}, false},
			{fail(6 * time.Second), Verdict{Counted: true, Failures: 5}, false},
		}},
		{"a success resets the failures", []step{
			{ok(time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
			{fail(2 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{fail(3 * time.Second), Verdict{Counted: true, Failures: 2}, false},
			{ok(4 * time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
			{fail(5 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{fail(6 * time.Second), Verdict{Counted: true, Failures: 2}, false},
			{fail(7 * time.Second), Verdict{Counted: true, Failures: 3, Unhealthy: true}, false},
		}},
		{"recovery after unhealthy", []step{
			{ok(time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
			{fail(2 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{fail(3 * time.Second), Verdict{Counted: true, Failures: 2}, false},
			{fail(4 * time.Second), Verdict{Counted: true, Failures: 3, Unhealthy: true}, false},
			{ok(5 * time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
		}},
		{"failures count once the start period elapsed, with no success before", []step{
			{fail(30 * time.Second), Verdict{}, true},
			{fail(40 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{fail(50 * time.Second), Verdict{Counted: true, Failures: 2}, false},
			{fail(60 * time.Second), Verdict{Counted: true, Failures: 3, Unhealthy: true}, false},
		}},
		{"a late first success still recovers", []step{
			{fail(41 * time.Second), Verdict{Counted: true, Failures: 1}, false},
			{ok(42 * time.Second), Verdict{Counted: true, Healthy: true, Recovered: true}, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(p, t0)
			if !tr.Starting() || tr.Healthy() || tr.Failures() != 0 {
				t.Fatalf("new tracker: Starting %v, Healthy %v, Failures %d; want true, false, 0",
					tr.Starting(), tr.Healthy(), tr.Failures())
			}
			for i, s := range tt.steps {
				got := tr.Observe(s.r)
				if got != s.want {
					t.Errorf("step %d (ok %v at +%s): verdict %+v, want %+v", i, s.r.OK, s.r.Start.Sub(t0), got, s.want)
				}
				if tr.Starting() != s.starting {
					t.Errorf("step %d: Starting() = %v, want %v", i, tr.Starting(), s.starting)
				}
				if tr.Healthy() != s.want.Healthy && s.want.Counted {
					t.Errorf("step %d: Healthy() = %v, want %v", i, tr.Healthy(), s.want.Healthy)
				}
				if tr.Failures() != s.want.Failures {
					t.Errorf("step %d: Failures() = %d, want %d", i, tr.Failures(), s.want.Failures)
				}
			}
		})
	}
}

// TestTracker_RetriesOne checks the smallest threshold: the first counted
// failure is the one that triggers, and only it.
func TestTracker_RetriesOne(t *testing.T) {
	tr := NewTracker(Policy{Retries: 1}, t0)
	if v := tr.Observe(fail(0)); !v.Counted || !v.Unhealthy || v.Failures != 1 {
		t.Errorf("first failure with no start period: %+v, want counted, unhealthy, 1 failure", v)
	}
	if v := tr.Observe(fail(time.Second)); v.Unhealthy {
		t.Errorf("second failure: %+v, want Unhealthy false", v)
	}
}
