package supervisor

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// epoch is the start of every policy test's timeline: time is a value the
// tests pass in, never read from a clock.
var epoch = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

// at is the instant d after epoch.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// roomy is a policy whose budget no test of modes or backoff reaches.
func roomy(mode Mode) Policy {
	return Policy{Mode: mode, Delay: time.Second, DelayMax: 10 * time.Second,
		MinUptime: 30 * time.Second, Max: 100, Window: time.Hour}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"on-failure", "always", "never"} {
		t.Run("good/"+s, func(t *testing.T) {
			m, err := ParseMode(s)
			if err != nil {
				t.Fatalf("ParseMode(%q): %v", s, err)
			}
			if string(m) != s {
				t.Errorf("ParseMode(%q) = %q", s, m)
			}
		})
	}
	for _, s := range []string{"", "sometimes", "On-Failure", "ALWAYS", "on_failure", "onfailure", " always", "never ", "no"} {
		t.Run("bad/"+s, func(t *testing.T) {
			m, err := ParseMode(s)
			if err == nil {
				t.Fatalf("ParseMode(%q) = %q, want an error", s, m)
			}
			if m != "" {
				t.Errorf("ParseMode(%q) = %q with its error, want \"\"", s, m)
			}
			for _, w := range []string{"on-failure", "always", "never"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not offer %q", err, w)
				}
			}
		})
	}
}

// TestRestarts_Modes is the first death of a child under each mode: which
// reasons and codes restart it.
func TestRestarts_Modes(t *testing.T) {
	tests := []struct {
		mode    Mode
		reason  Reason
		code    int
		restart bool
		why     string // when not restarting
	}{
		{OnFailure, ReasonExit, 0, false, "clean exit"},
		{OnFailure, ReasonExit, 1, true, ""},
		{OnFailure, ReasonExit, 3, true, ""},
		{OnFailure, ReasonExit, 255, true, ""},
		{OnFailure, ReasonSignal, 143, true, ""},
		{OnFailure, ReasonSignal, 137, true, ""},
		{OnFailure, ReasonOOMKill, 137, true, ""},
		{OnFailure, ReasonHeapLimit, 134, true, ""},
		{OnFailure, ReasonRSSLimit, 143, true, ""},
		{OnFailure, ReasonRSSLimit, 0, true, ""}, // node exited cleanly on crinit's SIGTERM: still a failure
		{OnFailure, ReasonFDLimit, 0, true, ""},
		{OnFailure, ReasonProbe, 137, true, ""},
		{OnFailure, ReasonShutdown, 0, false, "shutdown"},
		{OnFailure, ReasonShutdown, 143, false, "shutdown"},

		{Always, ReasonExit, 0, true, ""},
		{Always, ReasonExit, 1, true, ""},
		{Always, ReasonSignal, 143, true, ""},
		{Always, ReasonOOMKill, 137, true, ""},
		{Always, ReasonRSSLimit, 0, true, ""},
		{Always, ReasonShutdown, 0, false, "shutdown"},
		{Always, ReasonShutdown, 137, false, "shutdown"},

		{Never, ReasonExit, 0, false, "restart policy never"},
		{Never, ReasonExit, 1, false, "restart policy never"},
		{Never, ReasonSignal, 143, false, "restart policy never"},
		{Never, ReasonOOMKill, 137, false, "restart policy never"},
		{Never, ReasonHeapLimit, 134, false, "restart policy never"},
		{Never, ReasonRSSLimit, 143, false, "restart policy never"},
		{Never, ReasonFDLimit, 143, false, "restart policy never"},
		{Never, ReasonProbe, 143, false, "restart policy never"},
		{Never, ReasonShutdown, 0, false, "shutdown"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+string(tt.reason)+"/"+strconv.Itoa(tt.code), func(t *testing.T) {
			r := NewRestarts(roomy(tt.mode))
			d := r.Decide(at(time.Minute), time.Second, tt.reason, tt.code)
			if d.Restart != tt.restart {
				t.Fatalf("Decide = %+v, want Restart %v", d, tt.restart)
			}
			if d.Exhausted {
				t.Errorf("Decide = %+v: exhausted on a first death with Max 100", d)
			}
			if tt.restart {
				if d.Delay != time.Second || d.InWindow != 1 || d.Why != "" {
					t.Errorf("Decide = %+v, want Delay 1s, InWindow 1, no Why", d)
				}
				return
			}
			if d.Why != tt.why || d.Delay != 0 || d.InWindow != 0 {
				t.Errorf("Decide = %+v, want Why %q, no delay, InWindow 0", d, tt.why)
			}
			if h := r.History(at(time.Minute)); len(h) != 0 {
				t.Errorf("a death without restart was counted: history %v", h)
			}
		})
	}
}

// TestRestarts_Shutdown: a shutdown never restarts, whatever the budget and
// backoff, and is not counted.
func TestRestarts_Shutdown(t *testing.T) {
	for _, mode := range []Mode{OnFailure, Always, Never} {
		t.Run(string(mode), func(t *testing.T) {
			r := NewRestarts(roomy(mode))
			if mode != Never {
				r.Decide(at(0), time.Second, ReasonSignal, 143)
			}
			d := r.Decide(at(time.Second), time.Second, ReasonShutdown, 143)
			if d.Restart || d.Exhausted || d.Why != "shutdown" {
				t.Errorf("Decide(shutdown) = %+v, want no restart, Why shutdown", d)
			}
			want := 0
			if mode != Never {
				want = 1
			}
			if d.InWindow != want {
				t.Errorf("InWindow = %d, want %d: the shutdown itself is not a restart", d.InWindow, want)
			}
		})
	}
	t.Run("budget spent", func(t *testing.T) {
		r := NewRestarts(Policy{Mode: Always, Delay: time.Second, DelayMax: time.Second, Max: 0, Window: time.Minute})
		d := r.Decide(at(0), time.Second, ReasonShutdown, 0)
		if d.Restart || d.Exhausted || d.Why != "shutdown" {
			t.Errorf("Decide(shutdown) with Max 0 = %+v, want Why shutdown, not exhausted", d)
		}
	})
}

// TestRestarts_Reload: a reload restarts at once, outside the budget, and
// leaves the backoff where it was.
func TestRestarts_Reload(t *testing.T) {
	t.Run("immediate and not counted", func(t *testing.T) {
		for _, mode := range []Mode{OnFailure, Always} {
			t.Run(string(mode), func(t *testing.T) {
				r := NewRestarts(Policy{Mode: mode, Delay: time.Second, DelayMax: 10 * time.Second,
					MinUptime: time.Minute, Max: 1, Window: time.Minute})
				d := r.Decide(at(0), time.Second, ReasonSignal, 143)
				if !d.Restart || d.InWindow != 1 {
					t.Fatalf("first failure: %+v, want a restart, InWindow 1", d)
				}
				for i := range 5 {
					now := at(time.Duration(i+1) * time.Second)
					d := r.Decide(now, time.Second, ReasonReload, 143)
					if !d.Restart || d.Delay != 0 || d.Exhausted || d.Why != "" {
						t.Fatalf("reload %d: %+v, want an immediate restart", i+1, d)
					}
					if d.InWindow != 1 {
						t.Errorf("reload %d: InWindow %d, want 1 (reloads are outside the budget)", i+1, d.InWindow)
					}
				}
				if h := r.History(at(6 * time.Second)); !slices.Equal(h, []time.Time{at(0)}) {
					t.Errorf("history %v, want only the failure at %v", h, at(0))
				}
				d = r.Decide(at(7*time.Second), time.Second, ReasonSignal, 143)
				if d.Restart || !d.Exhausted || d.InWindow != 1 {
					t.Errorf("failure after reloads: %+v, want exhausted with InWindow 1", d)
				}
			})
		}
	})
	t.Run("immediate on a spent budget", func(t *testing.T) {
		r := NewRestarts(Policy{Mode: OnFailure, Delay: time.Second, DelayMax: time.Second, Max: 0, Window: time.Minute})
		if d := r.Decide(at(0), time.Second, ReasonReload, 0); !d.Restart || d.Delay != 0 || d.Exhausted {
			t.Errorf("reload with Max 0: %+v, want an immediate restart", d)
		}
	})
	t.Run("backoff untouched", func(t *testing.T) {
		r := NewRestarts(roomy(OnFailure))
		var delays []time.Duration
		for i, reason := range []Reason{ReasonSignal, ReasonReload, ReasonSignal, ReasonReload, ReasonReload, ReasonSignal} {
			d := r.Decide(at(time.Duration(i)*time.Second), time.Second, reason, 1)
			delays = append(delays, d.Delay)
		}
		want := []time.Duration{time.Second, 0, 2 * time.Second, 0, 0, 4 * time.Second}
		if !slices.Equal(delays, want) {
			t.Errorf("delays %v, want %v", delays, want)
		}
	})
}

func TestRestarts_Backoff(t *testing.T) {
	s := time.Second
	tests := []struct {
		name            string
		delay, delayMax time.Duration
		want            []time.Duration
	}{
		{"doubling to the cap", s, 10 * s, []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s, 10 * s}},
		{"cap below twice the delay", 3 * s, 5 * s, []time.Duration{3 * s, 5 * s, 5 * s}},
		{"cap equal to the delay", 2 * s, 2 * s, []time.Duration{2 * s, 2 * s, 2 * s}},
		{"milliseconds", 100 * time.Millisecond, s, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond,
			400 * time.Millisecond, 800 * time.Millisecond, s, s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRestarts(Policy{Mode: OnFailure, Delay: tt.delay, DelayMax: tt.delayMax,
				MinUptime: time.Minute, Max: 100, Window: time.Hour})
			var got []time.Duration
			now := epoch
			for i := range tt.want {
				d := r.Decide(now, time.Second, ReasonExit, 1)
				if !d.Restart || d.InWindow != i+1 {
					t.Fatalf("death %d: %+v, want restart %d", i+1, d, i+1)
				}
				got = append(got, d.Delay)
				now = now.Add(d.Delay + time.Second) // the child lived one second
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRestarts_BackoffReset(t *testing.T) {
	s := time.Second
	tests := []struct {
		name    string
		uptimes []time.Duration
		want    []time.Duration
	}{
		{"long life resets", []time.Duration{s, s, s, 30 * s, s, s}, []time.Duration{s, 2 * s, 4 * s, s, 2 * s, 4 * s}},
		{"exactly min uptime resets", []time.Duration{s, s, 30 * s}, []time.Duration{s, 2 * s, s}},
		{"just under min uptime does not", []time.Duration{s, s, 30*s - time.Nanosecond}, []time.Duration{s, 2 * s, 4 * s}},
		{"at the cap, then reset", []time.Duration{s, s, s, s, s, s, time.Hour}, []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s, s}},
		{"every life long", []time.Duration{time.Minute, time.Minute, time.Minute}, []time.Duration{s, s, s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRestarts(roomy(OnFailure))
			var got []time.Duration
			now := epoch
			for _, up := range tt.uptimes {
				now = now.Add(up)
				d := r.Decide(now, up, ReasonSignal, 143)
				if !d.Restart {
					t.Fatalf("no restart: %+v", d)
				}
				got = append(got, d.Delay)
				now = now.Add(d.Delay)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRestarts_Budget walks deaths along a timeline against Max 3 in 10s.
func TestRestarts_Budget(t *testing.T) {
	type death struct {
		at        time.Duration
		restart   bool
		exhausted bool
		inWindow  int
	}
	ms := time.Millisecond
	s := time.Second
	tests := []struct {
		name   string
		deaths []death
	}{
		{"fourth within the window is exhausted", []death{
			{0, true, false, 1},
			{1 * s, true, false, 2},
			{2 * s, true, false, 3},
			{3 * s, false, true, 3},
			{9 * s, false, true, 3}, // the first restart is 9s old: still inside
		}},
		{"allowed again as the window slides", []death{
			{0, true, false, 1},
			{1 * s, true, false, 2},
			{2 * s, true, false, 3},
			{3 * s, false, true, 3},
			{10*s + 500*ms, true, false, 3}, // the one at 0 has left the window
			{10*s + 600*ms, false, true, 3},
			{12 * s, true, false, 2}, // those at 1s and 2s have left
			{30 * s, true, false, 1},
		}},
		{"a restart exactly one window old has left it", []death{
			{0, true, false, 1},
			{1 * s, true, false, 2},
			{2 * s, true, false, 3},
			{10*s - ms, false, true, 3},
			{10 * s, true, false, 3},
		}},
		{"exhausted deaths are not counted", []death{
			{0, true, false, 1},
			{1 * s, true, false, 2},
			{2 * s, true, false, 3},
			{3 * s, false, true, 3},
			{4 * s, false, true, 3},
			{5 * s, false, true, 3},
			{10*s + 500*ms, true, false, 3}, // 1s, 2s and this one: the exhausted ones left no trace
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRestarts(Policy{Mode: OnFailure, Delay: time.Second, DelayMax: 10 * time.Second,
				MinUptime: time.Minute, Max: 3, Window: 10 * time.Second})
			for i, dt := range tt.deaths {
				d := r.Decide(at(dt.at), 100*time.Millisecond, ReasonExit, 1)
				if d.Restart != dt.restart || d.Exhausted != dt.exhausted || d.InWindow != dt.inWindow {
					t.Fatalf("death %d at +%v: %+v, want Restart %v, Exhausted %v, InWindow %d",
						i+1, dt.at, d, dt.restart, dt.exhausted, dt.inWindow)
				}
				if d.Exhausted && (d.Why != "budget exhausted" || d.Delay != 0) {
					t.Errorf("death %d: %+v, want Why \"budget exhausted\" and no delay", i+1, d)
				}
			}
		})
	}
}

func TestRestarts_BudgetZero(t *testing.T) {
	for _, mode := range []Mode{OnFailure, Always} {
		t.Run(string(mode), func(t *testing.T) {
			r := NewRestarts(Policy{Mode: mode, Delay: time.Second, DelayMax: time.Second, Max: 0, Window: time.Minute})
			for i := range 3 {
				d := r.Decide(at(time.Duration(i)*time.Hour), time.Hour, ReasonSignal, 137)
				if d.Restart || !d.Exhausted || d.InWindow != 0 || d.Why != "budget exhausted" {
					t.Errorf("death %d with Max 0: %+v, want exhausted at once with InWindow 0", i+1, d)
				}
			}
		})
	}
	t.Run("clean exit is not exhaustion", func(t *testing.T) {
		r := NewRestarts(Policy{Mode: OnFailure, Delay: time.Second, DelayMax: time.Second, Max: 0, Window: time.Minute})
		if d := r.Decide(epoch, time.Second, ReasonExit, 0); d.Exhausted || d.Why != "clean exit" {
			t.Errorf("clean exit with Max 0: %+v, want Why \"clean exit\"", d)
		}
	})
}

func TestRestarts_History(t *testing.T) {
	s := time.Second
	r := NewRestarts(Policy{Mode: Always, Delay: time.Second, DelayMax: time.Second,
		MinUptime: time.Minute, Max: 10, Window: 10 * time.Second})
	for _, dt := range []time.Duration{0, 1 * s, 2 * s, 5 * s} {
		if d := r.Decide(at(dt), s, ReasonExit, 1); !d.Restart {
			t.Fatalf("death at +%v: %+v, want a restart", dt, d)
		}
	}
	r.Decide(at(6*s), s, ReasonReload, 0)   // outside the budget
	r.Decide(at(7*s), s, ReasonShutdown, 0) // no restart

	tests := []struct {
		now  time.Duration
		want []time.Duration
	}{
		{7 * s, []time.Duration{0, 1 * s, 2 * s, 5 * s}},
		{10 * s, []time.Duration{1 * s, 2 * s, 5 * s}},
		{11*s + 500*time.Millisecond, []time.Duration{2 * s, 5 * s}},
		{15 * s, nil},
		{time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run("at +"+tt.now.String(), func(t *testing.T) {
			got := r.History(at(tt.now))
			var want []time.Time
			for _, d := range tt.want {
				want = append(want, at(d))
			}
			if !slices.Equal(got, want) {
				t.Errorf("History = %v, want %v", got, want)
			}
			if n := r.InWindow(at(tt.now)); n != len(want) {
				t.Errorf("InWindow = %d, want %d", n, len(want))
			}
		})
	}
	t.Run("a copy", func(t *testing.T) {
		r := NewRestarts(roomy(Always))
		r.Decide(epoch, s, ReasonExit, 0)
		h := r.History(epoch)
		h[0] = epoch.Add(-time.Hour)
		if got := r.History(epoch); !slices.Equal(got, []time.Time{epoch}) {
			t.Errorf("changing History's result changed the restarts: %v", got)
		}
	})
}
