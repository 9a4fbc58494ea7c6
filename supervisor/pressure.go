package supervisor

import (
	"fmt"
	"time"
)

// PressureLimit is --memory-pressure-limit: the child is restarted once
// every task of the cgroup was stalled on memory (PSI's "full") for at
// least Share of the last Window.
type PressureLimit struct {
	Share  float64 // 0 to 1; 0 is off
	Window time.Duration
}

// Off reports whether the limit is disabled.
func (p PressureLimit) Off() bool { return p.Share == 0 || p.Window == 0 }

// String prints the limit as the flag takes it: "60%/30s", or "0".
func (p PressureLimit) String() string {
	if p.Off() {
		return "0"
	}
	return fmt.Sprintf("%g%%/%s", p.Share*100, p.Window)
}

// stallWindow keeps the readings of a stall counter that span a window,
// and gives the share of the window spent stalled.
type stallWindow struct {
	points []stallPoint
}

type stallPoint struct {
	at      time.Time
	totalUS uint64
}

// observe adds the counter's reading at at. ok is true once the readings
// span window: share is then the stalled share of the time since the
// newest reading at least window old.
func (w *stallWindow) observe(at time.Time, totalUS uint64, window time.Duration) (share float64, ok bool) {
	if n := len(w.points); n > 0 && (totalUS < w.points[n-1].totalUS || !at.After(w.points[n-1].at)) {
		w.reset() // the counter went back (another cgroup) or time did not move
	}
	w.points = append(w.points, stallPoint{at, totalUS})
	first := 0
	for i, p := range w.points {
		if at.Sub(p.at) >= window {
			first = i
		}
	}
	w.points = w.points[first:]
	from := w.points[0]
	span := at.Sub(from.at)
	if span < window {
		return 0, false
	}
	return float64(totalUS-from.totalUS) / float64(span.Microseconds()), true
}

// reset forgets every reading.
func (w *stallWindow) reset() { w.points = w.points[:0] }
