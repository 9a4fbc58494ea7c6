package supervisor

import (
	"slices"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/sampler"
)

// topProcesses is how many of the largest processes a memory event lists.
const topProcesses = 5

// onSample judges one reading of the tree against the memory and
// descriptor limits.
func (s *Supervisor) onSample(smp sampler.Sample) {
	if smp.Cgroup != nil {
		s.cgroup = smp.Cgroup
		s.onCgroup(smp)
	}
	defer func() { s.mem.last = smp.Procs }()
	if s.mem.victim != 0 && !slices.ContainsFunc(smp.Procs, func(p sampler.Proc) bool { return p.PID == s.mem.victim }) {
		s.mem.victim = 0 // gone: its PID may name another process later
	}
	alive := s.alive()
	if len(alive) == 0 || smp.At.Before(alive[0].started) {
		return // no child, or a reading of an earlier one
	}
	sum, most := smp.FDs()
	s.tree = &TreeStatus{At: smp.At, Processes: len(smp.Procs), RSSBytes: smp.RSS, FDs: sum, MaxFDs: most}
	if len(smp.Procs) == 0 {
		return
	}
	for _, part := range partition(alive, smp) {
		g := part.gen
		if !g.alive() || part.smp.At.Before(g.started) {
			continue
		}
		g.rss = part.smp.RSS
		if g.readyRSS == 0 && g.serving() {
			g.readyRSS = g.rss
		}
		s.raiseOOMScores(g, part.smp)
		if g.serving() {
			s.checkMemory(g, part.smp)
		}
		if g.serving() {
			s.checkFDs(g, part.smp)
		}
	}
}

// share is the part of a sample that belongs to one generation.
type share struct {
	gen *generation
	smp sampler.Sample
}

// partition splits a sample between the living generations, oldest
// first: each gets its child's subtree. Orphans reparented to crinit go to
// the oldest: they are most likely what a replaced child left. With one
// generation, it gets the whole tree.
func partition(alive []*generation, smp sampler.Sample) []share {
	if len(alive) == 1 {
		return []share{{gen: alive[0], smp: smp}}
	}
	owner := make(map[int]*generation, len(smp.Procs))
	for _, g := range alive {
		owner[g.pid] = g
	}
	parts := make(map[*generation][]sampler.Proc, len(alive))
	for _, p := range smp.Procs { // parents come before their children
		g := owner[p.PID]
		if g == nil {
			if g = owner[p.PPID]; g == nil {
				g = alive[0]
			}
			owner[p.PID] = g
		}
		parts[g] = append(parts[g], p)
	}
	out := make([]share, 0, len(alive))
	for _, g := range alive {
		ps := parts[g]
		part := sampler.Sample{At: smp.At, Procs: ps, RSS: sampler.TreeRSS(ps), Cgroup: smp.Cgroup, Err: smp.Err}
		for _, p := range ps {
			part.RSSSum += p.RSS
		}
		out = append(out, share{gen: g, smp: part})
	}
	return out
}

// raiseOOMScores raises oom_score_adj to the child's for every process of
// the sample seen for the first time in this generation's life.
func (s *Supervisor) raiseOOMScores(g *generation, smp sampler.Sample) {
	for _, p := range smp.Procs {
		if g.oomChecked[p.PID] {
			continue
		}
		g.oomChecked[p.PID] = true
		if from, raised := s.host.raiseOOMScore(p.PID, s.cfg.OOMScoreAdj); raised {
			s.log.Debug("oom_score_adj raised", "pid", p.PID, "from", from, "to", s.cfg.OOMScoreAdj)
		}
	}
}

func (s *Supervisor) checkMemory(g *generation, smp sampler.Sample) {
	v := g.mem.observe(smp.At, smp.RSS)
	if v.WarnCrossed {
		s.log.Warn("rss warning", "measure", "tree_rss", "rss_bytes", smp.RSS, "rss_sum_bytes", smp.RSSSum, "warn_bytes", s.mem.rssWarn,
			"limit_bytes", s.mem.rssLimit, "top", s.top(smp))
		if s.cfg.HeapSnapshotDir != "" && !g.snapshotSent {
			g.snapshotSent = true
			s.requestHeapSnapshot(smp)
		}
	}
	if v.Trend != nil {
		s.log.Warn("rss trending to limit", "rss_bytes", smp.RSS, "limit_bytes", s.mem.rssLimit,
			"slope_mib_per_min", v.Trend.BytesPerSec*60/float64(limits.MiB), "eta_s", int64(v.Trend.ToLimit.Seconds()))
	}
	if v.Exceeded {
		args := []any{"measure", "tree_rss", "rss_bytes", smp.RSS, "rss_sum_bytes", smp.RSSSum, "limit_bytes", s.mem.rssLimit,
			"samples_over", g.mem.over, "top", s.top(smp)}
		if smp.Cgroup != nil {
			args = append(args, "cgroup_usage_bytes", smp.Cgroup.Usage, "cgroup_limit_bytes", smp.Cgroup.Limit)
		}
		s.log.Warn("rss limit exceeded", args...)
		s.restart(g, ReasonRSSLimit)
	}
}

// top describes the largest processes of a sample for a log line.
func (s *Supervisor) top(smp sampler.Sample) []map[string]any {
	ps := smp.Top(topProcesses)
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		out = append(out, map[string]any{"pid": p.PID, "rss_bytes": p.RSS, "command": s.host.command(p.PID)})
	}
	return out
}

func (s *Supervisor) checkFDs(g *generation, smp sampler.Sample) {
	for _, p := range smp.Procs {
		if p.FDs < 0 || p.FDLimit == 0 {
			continue
		}
		fds := uint64(p.FDs)
		if !s.cfg.FDLimit.Off() && fds >= s.cfg.FDLimit.Of(p.FDLimit) {
			s.log.Warn("fd limit exceeded", "pid", p.PID, "command", s.host.command(p.PID), "fds", fds,
				"limit", s.cfg.FDLimit.Of(p.FDLimit), "rlimit_nofile", p.FDLimit)
			s.restart(g, ReasonFDLimit)
			return
		}
		if !s.cfg.FDWarn.Off() && fds >= s.cfg.FDWarn.Of(p.FDLimit) && !g.fdWarned[p.PID] {
			g.fdWarned[p.PID] = true
			s.log.Warn("fd warning", "pid", p.PID, "command", s.host.command(p.PID), "fds", fds,
				"warn", s.cfg.FDWarn.Of(p.FDLimit), "rlimit_nofile", p.FDLimit)
		}
	}
}

// requestHeapSnapshot makes room in the snapshot directory and sends
// SIGUSR2 to every node process of the tree started to take it; node
// writes the snapshot.
func (s *Supervisor) requestHeapSnapshot(smp sampler.Sample) {
	s.pruneSnapshots(s.cfg.HeapSnapshotKeep - 1)
	for _, p := range smp.Procs {
		if !s.host.takesHeapSnapshot(p.PID) {
			continue
		}
		if err := s.host.signal(p.PID, syscall.SIGUSR2); err != nil {
			s.log.Warn("heap snapshot not requested", "pid", p.PID, "error", err)
			continue
		}
		s.log.Info("heap snapshot requested", "pid", p.PID, "dir", s.cfg.HeapSnapshotDir)
	}
}

// pruneSnapshots keeps the newest keep heap snapshots.
func (s *Supervisor) pruneSnapshots(keep int) {
	removed, err := pruneSnapshots(s.cfg.HeapSnapshotDir, keep)
	if err != nil {
		s.log.Warn("heap snapshots not pruned", "dir", s.cfg.HeapSnapshotDir, "error", err)
	}
	for _, name := range removed {
		s.log.Info("heap snapshot removed", "file", name, "keep", s.cfg.HeapSnapshotKeep)
	}
}

// onProbe judges one liveness probe result; the retries-th consecutive
// failure after the start period restarts the child with reason probe.
func (s *Supervisor) onProbe(r probe.Result) {
	last := s.probeSt.record(r)
	g := s.live()
	if g != nil && g.phase == PhaseStarting && r.OK && !r.Start.Before(g.started) {
		s.probeLog.Info("probe healthy", "target", s.probeSt.Target, "duration_ms", last.DurationMS, "http_status", r.Status)
		g.probe.Observe(r)
		s.becameReady(g, time.Now()) // awaited readiness: the app answers
		return
	}
	if g == nil || !g.serving() || r.Start.Before(g.started) {
		return // no child, or a probe of an earlier one
	}
	v := g.probe.Observe(r)
	defer s.paceProbe()
	switch {
	case r.OK && v.Recovered:
		s.probeLog.Info("probe healthy", "target", s.probeSt.Target, "duration_ms", last.DurationMS, "http_status", r.Status)
	case !r.OK:
		// Inside the start period a failure is expected (the app is still
		// starting) and does not count: debug, not warn.
		level := hclog.Warn
		if !v.Counted {
			level = hclog.Debug
		}
		s.probeLog.Log(level, "probe failed", "target", s.probeSt.Target, "cause", r.Cause, "http_status", r.Status,
			"error", last.Error, "duration_ms", last.DurationMS, "failures", v.Failures,
			"retries", s.cfg.ProbePolicy.Retries, "counted", v.Counted)
	}
	if v.Unhealthy {
		s.probeLog.Warn("probe unhealthy, restarting child", "target", s.probeSt.Target, "failures", v.Failures)
		s.restart(g, ReasonProbe)
	}
}

// paceProbe sets the prober's interval: ProbeStartInterval while the
// child is in its start period, ProbeInterval after.
func (s *Supervisor) paceProbe() {
	if s.probeIvl == nil || s.cfg.ProbeStartInterval <= 0 {
		return
	}
	want := s.cfg.ProbeInterval
	if g := s.live(); g != nil && g.probe.Starting() {
		want = min(s.cfg.ProbeStartInterval, s.cfg.ProbeInterval)
	}
	if want == s.probeAt {
		return
	}
	s.probeAt = want
	setPace(s.probeIvl, want)
}

// setPace hands a worker its interval from now on. Only the loop sends,
// into a buffer of one: a value the worker has not taken yet is replaced
// instead of blocking on it.
func setPace(ch chan time.Duration, d time.Duration) {
	select {
	case ch <- d:
	default:
		select {
		case <-ch:
		default:
		}
		ch <- d
	}
}

// nearShare is how close to its RSS limit a tree must be, without a warn
// level, to be sampled at nearInterval.
const nearShare = 0.8

// nearInterval is the sampling interval while a tree is near its limit:
// past the warn level, or fitted to reach the limit within trendNear.
const (
	nearInterval = 250 * time.Millisecond
	trendNear    = 10 * time.Second
)

// Trees are far from their limits while, at the growth between the last
// two samples, their RSS stays under farShare of its limit and every
// process under farShare of its descriptor limit for the next two samples
// at the slow pace: then they are sampled every farFactor times
// SampleInterval. A leak fast enough to cross the warn level between two
// slow samples keeps the pace; a jump from there to the limit is the
// kernel's to stop, at any pace.
const (
	farShare  = 0.5
	farFactor = 2
)

// paceReading is what one sample showed, to measure the growth to the next.
type paceReading struct {
	at      time.Time
	rss     uint64  // the living trees' RSS, summed
	fdShare float64 // the largest share of its descriptor limit any process holds
}

// paceSampling samples every nearInterval while a living tree is near its
// RSS limit, so that a leak is caught within about two of those after it
// crosses the limit; every farFactor × SampleInterval while the trees are
// far from their limits; every SampleInterval otherwise. at is the time of
// the sample just taken.
func (s *Supervisor) paceSampling(at time.Time) {
	if s.sampleIvl == nil {
		return
	}
	want := s.cfg.SampleInterval
	near := s.mem.rssWarn
	if near == 0 {
		near = uint64(float64(s.mem.rssLimit) * nearShare)
	}
	cur := paceReading{at: at, fdShare: s.fdShare()}
	for _, g := range s.alive() {
		if s.mem.rssLimit > 0 && (g.rss >= near || g.mem.near(trendNear)) {
			want = min(want, nearInterval)
		}
		cur.rss += g.rss
	}
	if s.far(s.paced, cur) && want == s.cfg.SampleInterval {
		want *= farFactor
	}
	s.paced = cur
	if want != s.sampleAt {
		s.sampleAt = want
		setPace(s.sampleIvl, want)
	}
}

// far reports whether the trees stay far from their limits for two slow
// samples, at the growth from prev to cur. Without an earlier reading the
// growth is unknown: not far.
func (s *Supervisor) far(prev, cur paceReading) bool {
	dt := cur.at.Sub(prev.at).Seconds()
	if prev.at.IsZero() || dt <= 0 {
		return false
	}
	ahead := 2 * farFactor * s.cfg.SampleInterval.Seconds()
	projected := func(p, c float64) float64 { return c + max(c-p, 0)/dt*ahead }
	if s.mem.rssLimit > 0 && projected(float64(prev.rss), float64(cur.rss)) >= float64(s.mem.rssLimit)*farShare {
		return false
	}
	return projected(prev.fdShare, cur.fdShare) < farShare
}

// fdShare is the largest share of its descriptor limit any process of the
// last sample holds (a process whose limit is unknown counts for none).
func (s *Supervisor) fdShare() float64 {
	var most float64
	for _, p := range s.mem.last {
		if p.FDLimit > 0 {
			most = max(most, float64(p.FDs)/float64(p.FDLimit))
		}
	}
	return most
}
