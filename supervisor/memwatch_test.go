package supervisor

import (
	"math"
	"testing"
	"time"
)

const mib = 1 << 20

// jitter is a deterministic stand-in for a ticker's lateness: up to about
// 2ms, different for every sample.
func jitter(i int) time.Duration {
	return time.Duration((i*7919)%1999) * time.Microsecond
}

func TestMemWatch_Warn(t *testing.T) {
	tests := []struct {
		name string
		warn uint64
		rss  []uint64
		want []bool // WarnCrossed, sample by sample
	}{
		{"crossing fires once", 100, []uint64{50, 99, 100, 150, 120, 100},
			[]bool{false, false, true, false, false, false}},
		{"re-arms only below", 100, []uint64{101, 100, 99, 101, 200, 50, 100},
			[]bool{true, false, false, true, false, false, true}},
		{"over from the first sample", 100, []uint64{500, 500, 500},
			[]bool{true, false, false}},
		{"never reached", 100, []uint64{0, 50, 99, 99},
			[]bool{false, false, false, false}},
		{"off", 0, []uint64{0, 1, 1 << 40, 0, 1 << 40},
			[]bool{false, false, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemWatch(0, tt.warn, 1, 10*time.Minute)
			for i, rss := range tt.rss {
				v := m.observe(epoch.Add(time.Duration(i)*time.Second), rss)
				if v.WarnCrossed != tt.want[i] {
					t.Errorf("sample %d (rss %d, warn %d): WarnCrossed %v, want %v", i, rss, tt.warn, v.WarnCrossed, tt.want[i])
				}
				if v.Exceeded || v.Trend != nil {
					t.Errorf("sample %d: %+v without a limit", i, v)
				}
			}
		})
	}
}

func TestMemWatch_Limit(t *testing.T) {
	tests := []struct {
		name  string
		limit uint64
		grace int
		rss   []uint64
		want  []bool // Exceeded, sample by sample
	}{
		{"after grace samples", 100, 3, []uint64{101, 101, 101, 150},
			[]bool{false, false, true, true}},
		{"at the limit is not over", 100, 2, []uint64{100, 100, 100},
			[]bool{false, false, false}},
		{"a sample under resets", 100, 3, []uint64{101, 101, 99, 101, 101, 101},
			[]bool{false, false, false, false, false, true}},
		{"a sample at the limit resets", 100, 2, []uint64{200, 100, 200, 200},
			[]bool{false, false, false, true}},
		{"reset after exceeding", 100, 2, []uint64{200, 200, 50, 200, 200},
			[]bool{false, true, false, false, true}},
		{"grace 1 acts at once", 100, 1, []uint64{101, 50, 101},
			[]bool{true, false, true}},
		{"grace 0 counts as 1", 100, 0, []uint64{99, 101},
			[]bool{false, true}},
		{"no limit", 0, 1, []uint64{1 << 40, 1 << 40, math.MaxUint64},
			[]bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemWatch(tt.limit, 0, tt.grace, 10*time.Minute)
			for i, rss := range tt.rss {
				v := m.observe(epoch.Add(time.Duration(i)*time.Second), rss)
				if v.Exceeded != tt.want[i] {
					t.Errorf("sample %d (rss %d, limit %d, grace %d): Exceeded %v, want %v",
						i, rss, tt.limit, tt.grace, v.Exceeded, tt.want[i])
				}
				if v.WarnCrossed {
					t.Errorf("sample %d: warning without a warn level", i)
				}
			}
		})
	}
}

// series is a run of samples: the i-th is at at(i) with rss(i).
type series struct {
	n   int
	at  func(i int) time.Duration // since epoch
	rss func(i int) float64
}

// trendAt records the samples that gave a trend warning, by index.
type trendAt struct {
	i int
	t trend
}

func (s series) observe(m *memWatch) []trendAt {
	var out []trendAt
	for i := range s.n {
		if v := m.observe(epoch.Add(s.at(i)), uint64(s.rss(i))); v.Trend != nil {
			out = append(out, trendAt{i, *v.Trend})
		}
	}
	return out
}

func everySecond(i int) time.Duration { return time.Duration(i) * time.Second }

func TestMemWatch_Trend(t *testing.T) {
	const (
		base  = 100 * mib
		limit = 200 * mib
	)
	// 1 MiB/s from 100 MiB towards a 200 MiB limit: the fit needs 10s of
	// samples, so the first warning comes at 110 MiB, 90s before the limit,
	// and the next a minute later, 30s before it.
	linear := series{101, everySecond, func(i int) float64 { return base + float64(i)*mib }}
	t.Run("linear growth", func(t *testing.T) {
		got := linear.observe(newMemWatch(limit, 0, 1, 10*time.Minute))
		want := []trendAt{
			{10, trend{BytesPerSec: mib, ToLimit: 90 * time.Second}},
			{70, trend{BytesPerSec: mib, ToLimit: 30 * time.Second}},
		}
		checkTrends(t, got, want, 1e-9, time.Millisecond)
	})
	t.Run("noisy growth, late samples", func(t *testing.T) {
		noisy := series{101,
			func(i int) time.Duration { return everySecond(i) + jitter(i) },
			func(i int) float64 { return base + float64(i)*mib + float64((i%3-1)*256<<10) }} // ±256 KiB
		got := noisy.observe(newMemWatch(limit, 0, 1, 10*time.Minute))
		// Sample 70 is late by less than sample 10 was, so it falls a
		// hair short of a minute after it: the second warning is at 71.
		want := []trendAt{
			{10, trend{BytesPerSec: mib, ToLimit: 90 * time.Second}},
			{71, trend{BytesPerSec: mib, ToLimit: 29 * time.Second}},
		}
		checkTrends(t, got, want, 0.05, 3*time.Second)
	})
	t.Run("within the horizon", func(t *testing.T) {
		// 100 KiB/s: at the first fit, 10s in, about 99 MiB and 1014s to go.
		slow := series{51, everySecond, func(i int) float64 { return base + float64(i)*100*1024 }}
		got := slow.observe(newMemWatch(limit, 0, 1, 20*time.Minute))
		want := []trendAt{{10, trend{BytesPerSec: 100 * 1024, ToLimit: (limit - base - 10*100*1024) * time.Second / (100 * 1024)}}}
		checkTrends(t, got, want, 1e-9, time.Millisecond)
	})

	none := []struct {
		name    string
		s       series
		limit   uint64
		horizon time.Duration
	}{
		{"flat", series{300, everySecond, func(int) float64 { return 150 * mib }}, limit, 10 * time.Minute},
		{"flat, late samples", series{300, func(i int) time.Duration { return everySecond(i) + jitter(i) },
			func(int) float64 { return 150 * mib }}, limit, 10 * time.Minute},
		{"flat with noise", series{300, func(i int) time.Duration { return everySecond(i) + jitter(i) },
			func(i int) float64 { return 150*mib + float64((i%2)*4096) }}, limit, 10 * time.Minute},
		{"shrinking", series{120, everySecond, func(i int) float64 { return 190*mib - float64(i)*mib/2 }}, limit, 10 * time.Minute},
		{"too few points", series{trendMinPoints - 1, func(i int) time.Duration { return time.Duration(i) * 5 * time.Second },
			func(i int) float64 { return base + float64(i)*10*mib }}, limit, 10 * time.Minute},
		{"too short a span", series{60, func(i int) time.Duration { return time.Duration(i) * 150 * time.Millisecond },
			func(i int) float64 { return base + float64(i)*mib }}, limit, 10 * time.Minute},
		{"limit beyond the horizon", series{120, everySecond, func(i int) float64 { return base + float64(i)*1024 }},
			limit, 10 * time.Minute}, // 1 KiB/s: over a day to go
		{"no limit", series{120, everySecond, func(i int) float64 { return base + float64(i)*mib }}, 0, 10 * time.Minute},
		{"over the limit", series{120, everySecond, func(i int) float64 { return limit + float64(i)*mib }}, limit, 10 * time.Minute},
	}
	for _, tt := range none {
		t.Run("none/"+tt.name, func(t *testing.T) {
			if got := tt.s.observe(newMemWatch(tt.limit, 0, 1, tt.horizon)); len(got) != 0 {
				t.Errorf("trend warnings %+v, want none", got)
			}
		})
	}

	t.Run("the tenth point over 10s", func(t *testing.T) {
		// The "too few points" series with one more point: now it warns.
		s := series{trendMinPoints, func(i int) time.Duration { return time.Duration(i) * 5 * time.Second },
			func(i int) float64 { return base + float64(i)*mib }}
		got := s.observe(newMemWatch(limit, 0, 1, 10*time.Minute))
		if len(got) != 1 || got[0].i != trendMinPoints-1 {
			t.Errorf("trend warnings %+v, want one at sample %d", got, trendMinPoints-1)
		}
	})
	t.Run("old growth leaves the window", func(t *testing.T) {
		// Fast growth for a minute, then flat for longer than the points
		// window: once the growth has left the window, no more warnings.
		s := series{60 + 2*trendPoints, everySecond,
			func(i int) float64 { return base + float64(min(i, 60))*mib/2 }}
		got := s.observe(newMemWatch(limit, 0, 1, time.Hour))
		if len(got) == 0 {
			t.Fatal("no trend warning during the growth")
		}
		for _, w := range got {
			if w.i >= 60+trendPoints {
				t.Errorf("trend warning at sample %d (%+v), after the growth left the window", w.i, w.t)
			}
		}
	})
}

// checkTrends compares trend warnings: same samples, rates within a
// relative tolerance, times to the limit within an absolute one.
func checkTrends(t *testing.T, got, want []trendAt, rateTol float64, toLimitTol time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("trend warnings at %+v, want at %+v", got, want)
	}
	for k := range want {
		g, w := got[k], want[k]
		if g.i != w.i {
			t.Errorf("warning %d at sample %d, want %d", k, g.i, w.i)
		}
		if math.Abs(g.t.BytesPerSec-w.t.BytesPerSec) > rateTol*w.t.BytesPerSec {
			t.Errorf("warning %d: %.1f B/s, want %.1f B/s", k, g.t.BytesPerSec, w.t.BytesPerSec)
		}
		if d := g.t.ToLimit - w.t.ToLimit; d < -toLimitTol || d > toLimitTol {
			t.Errorf("warning %d: %v to the limit, want %v", k, g.t.ToLimit, w.t.ToLimit)
		}
	}
}

func TestMemWatch_PointsBounded(t *testing.T) {
	m := newMemWatch(200*mib, 0, 1, 10*time.Minute)
	var capFull int
	const n = 3*trendPoints + 17
	for i := range n {
		m.observe(epoch.Add(everySecond(i)), uint64(100*mib+i))
		if i == trendPoints-1 {
			capFull = cap(m.points)
		}
	}
	if len(m.points) != trendPoints {
		t.Fatalf("%d points kept, want %d", len(m.points), trendPoints)
	}
	if first, want := m.points[0].at, epoch.Add(everySecond(n-trendPoints)); !first.Equal(want) {
		t.Errorf("oldest point at %v, want %v: the window must keep the newest", first, want)
	}
	if last, want := m.points[trendPoints-1].at, epoch.Add(everySecond(n-1)); !last.Equal(want) {
		t.Errorf("newest point at %v, want %v", last, want)
	}
	if cap(m.points) != capFull {
		t.Errorf("points capacity grew from %d to %d after the window filled", capFull, cap(m.points))
	}
}

func TestFitTrend(t *testing.T) {
	line := func(n int, step time.Duration, y0, slope float64) []point {
		ps := make([]point, n)
		for i := range ps {
			at := time.Duration(i) * step
			ps[i] = point{epoch.Add(at), y0 + slope*at.Seconds()}
		}
		return ps
	}
	tests := []struct {
		name   string
		points []point
		limit  uint64
		ok     bool
		want   trend
	}{
		{"exact line", line(20, time.Second, 1000, 50), 10000, true,
			trend{BytesPerSec: 50, ToLimit: time.Duration((10000.0 - (1000 + 50*19)) / 50 * float64(time.Second))}},
		{"half-second samples", line(40, 500*time.Millisecond, 100*mib, mib), 200 * mib, true,
			trend{BytesPerSec: mib, ToLimit: (100*mib - 19.5*mib) * time.Second / mib}},
		{"exactly the minimum", line(trendMinPoints, (trendMinSpan+trendMinPoints-2)/(trendMinPoints-1), 0, 10), 1000, true,
			trend{BytesPerSec: 10, ToLimit: 90 * time.Second}},
		{"one point short", line(trendMinPoints-1, 2*time.Second, 0, 10), 1000, false, trend{}},
		{"span just short", line(trendMinPoints, (trendMinSpan-time.Millisecond)/(trendMinPoints-1), 0, 10), 1000, false, trend{}},
		{"flat", line(30, time.Second, 1000, 0), 10000, false, trend{}},
		{"shrinking", line(30, time.Second, 5000, -10), 10000, false, trend{}},
		{"no points", nil, 10000, false, trend{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := fitTrend(tt.points, tt.limit)
			if ok != tt.ok {
				t.Fatalf("fitTrend = %+v, %v; want ok %v", got, ok, tt.ok)
			}
			if !ok {
				return
			}
			if math.Abs(got.BytesPerSec-tt.want.BytesPerSec) > 1e-9*tt.want.BytesPerSec {
				t.Errorf("BytesPerSec = %v, want %v", got.BytesPerSec, tt.want.BytesPerSec)
			}
			if d := got.ToLimit - tt.want.ToLimit; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("ToLimit = %v, want %v", got.ToLimit, tt.want.ToLimit)
			}
		})
	}
	t.Run("flat, late samples", func(t *testing.T) {
		// Float rounding must not turn a flat series into growth so slow
		// that the time to the limit overflows a Duration.
		ps := make([]point, trendPoints)
		for i := range ps {
			ps[i] = point{epoch.Add(everySecond(i) + jitter(i)), 150 * mib}
		}
		var bad []int
		var first trend
		for n := trendMinPoints; n <= len(ps); n++ {
			if got, ok := fitTrend(ps[:n], 300*mib); ok && got.ToLimit <= 0 {
				if bad == nil {
					first = got
				}
				bad = append(bad, n)
			}
		}
		if len(bad) > 0 {
			t.Errorf("fitTrend on %d of %d flat prefixes found growth reaching the limit in no time; first, %d points: %+v",
				len(bad), len(ps)-trendMinPoints+1, bad[0], first)
		}
	})
}
