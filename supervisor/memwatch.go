package supervisor

import (
	"math"
	"time"
)

// maxSeconds is the longest time a Duration can hold, in seconds.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// trendPoints bounds the samples kept for the leak-trend fit: five minutes
// at the default one-second interval.
const trendPoints = 300

// trendMinPoints and trendMinSpan keep the fit from reading noise as a
// leak: it needs this many samples over at least this long.
const (
	trendMinPoints = 10
	trendMinSpan   = 10 * time.Second
	trendEvery     = time.Minute // at most one trend warning per minute
)

// memWatch judges one child's tree RSS sample by sample: the warn level,
// the limit with its grace, and the growth trend. It is reset with each
// new child and knows nothing of clocks but the times it is given.
type memWatch struct {
	limit   uint64 // 0: no limit
	warn    uint64 // 0: no warning
	grace   int    // consecutive samples over the limit before acting
	horizon time.Duration

	over      int
	warned    bool
	eta       time.Duration // the last fit's time to the limit; 0: none
	points    []point
	lastTrend time.Time
}

type point struct {
	at  time.Time
	rss float64
}

// memVerdict is what one sample means.
type memVerdict struct {
	WarnCrossed bool   // crossed the warn level upwards
	Exceeded    bool   // over the limit for grace samples in a row
	Trend       *trend // growth that reaches the limit within the horizon
}

// trend is a fitted growth rate and when it reaches the limit.
type trend struct {
	BytesPerSec float64
	ToLimit     time.Duration
}

func newMemWatch(limit, warn uint64, grace int, horizon time.Duration) *memWatch {
	return &memWatch{limit: limit, warn: warn, grace: max(grace, 1), horizon: horizon}
}

// observe takes the tree's RSS at now.
func (m *memWatch) observe(now time.Time, rss uint64) memVerdict {
	var v memVerdict
	if m.warn > 0 {
		if rss >= m.warn && !m.warned {
			v.WarnCrossed = true
		}
		m.warned = rss >= m.warn
	}
	if m.limit > 0 && rss > m.limit {
		m.over++
		v.Exceeded = m.over >= m.grace
	} else {
		m.over = 0
	}

	if len(m.points) == trendPoints {
		m.points = append(m.points[:0], m.points[1:]...)
	}
	m.points = append(m.points, point{now, float64(rss)})
	m.eta = 0
	if m.limit > 0 && rss < m.limit {
		t, ok := fitTrend(m.points, m.limit)
		if ok {
			m.eta = max(t.ToLimit, 1) // 0 means none
		}
		if ok && t.ToLimit <= m.horizon && now.Sub(m.lastTrend) >= trendEvery {
			m.lastTrend = now
			v.Trend = &t
		}
	}
	return v
}

// fitTrend fits a least-squares line through points and projects when the
// line reaches limit from the last point. ok is false without enough data
// or without growth.
func fitTrend(points []point, limit uint64) (trend, bool) {
	n := len(points)
	if n < trendMinPoints || points[n-1].at.Sub(points[0].at) < trendMinSpan {
		return trend{}, false
	}
	t0 := points[0].at
	var sx, sy, sxx, sxy float64
	for _, p := range points {
		x := p.at.Sub(t0).Seconds()
		sx += x
		sy += p.rss
		sxx += x * x
		sxy += x * p.rss
	}
	fn := float64(n)
	den := fn*sxx - sx*sx
	if den == 0 {
		return trend{}, false
	}
	slope := (fn*sxy - sx*sy) / den
	if slope <= 0 {
		return trend{}, false
	}
	last := points[n-1].rss
	secs := (float64(limit) - last) / slope
	if secs >= maxSeconds {
		return trend{}, false // growth too slow to matter (and to fit in a Duration)
	}
	return trend{BytesPerSec: slope, ToLimit: time.Duration(secs * float64(time.Second))}, true
}

// near reports whether the last fit had the tree reach its limit within d.
func (m *memWatch) near(d time.Duration) bool {
	return m.eta > 0 && m.eta <= d
}
