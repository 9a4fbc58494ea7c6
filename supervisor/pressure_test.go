package supervisor

import (
	"testing"
	"time"
)

func TestStallWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type reading struct {
		at      time.Duration // after t0
		totalUS uint64
		share   float64
		ok      bool
	}
	tests := []struct {
		name     string
		window   time.Duration
		readings []reading
	}{
		{"fills before it judges", 3 * time.Second, []reading{
			{0, 0, 0, false}, {time.Second, 500_000, 0, false}, {2 * time.Second, 1_000_000, 0, false},
			{3 * time.Second, 1_500_000, 0.5, true},
		}},
		{"slides", 2 * time.Second, []reading{
			{0, 0, 0, false}, {time.Second, 0, 0, false}, {2 * time.Second, 0, 0, true},
			{3 * time.Second, 900_000, 0.45, true}, {4 * time.Second, 1_800_000, 0.9, true},
		}},
		{"an uneven interval", 2 * time.Second, []reading{
			{0, 0, 0, false}, {1500 * time.Millisecond, 1_500_000, 0, false}, {2500 * time.Millisecond, 2_000_000, 0.8, true},
		}},
		{"a counter that goes back starts over", 2 * time.Second, []reading{
			{0, 5_000_000, 0, false}, {time.Second, 6_000_000, 0, false}, {2 * time.Second, 100, 0, false},
			{4 * time.Second, 2_000_100, 1, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w stallWindow
			for i, r := range tt.readings {
				share, ok := w.observe(t0.Add(r.at), r.totalUS, tt.window)
				if ok != r.ok || (ok && share != r.share) {
					t.Errorf("reading %d: observe = %v, %v; want %v, %v", i, share, ok, r.share, r.ok)
				}
			}
			if len(w.points) > int(tt.window/time.Second)+2 {
				t.Errorf("%d readings kept for a %s window", len(w.points), tt.window)
			}
		})
	}
}

func TestPressureLimit_String(t *testing.T) {
	for _, tt := range []struct {
		p    PressureLimit
		want string
	}{
		{PressureLimit{0.6, 30 * time.Second}, "60%/30s"},
		{PressureLimit{0.125, 1500 * time.Millisecond}, "12.5%/1.5s"},
		{PressureLimit{}, "0"},
		{PressureLimit{Share: 0.5}, "0"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
