package supervisor

import (
	"cmp"
	"errors"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/sampler"
)

// pidsWarnPercent is the share of pids.max at which crinit warns: fork
// fails with EAGAIN at the limit.
const pidsWarnPercent = 80

// memState is what the loop knows of the cgroup between readings, and the
// sizes in force, which follow its limit when they are auto.
type memState struct {
	limit    uint64 // the memory limit last read; 0: none
	rssLimit uint64 // the RSS limit in force
	rssWarn  uint64
	heapMiB  uint64 // node's heap for the next child

	events     cgroup.Events // the counters last seen
	seen       bool          // events holds a reading
	stalls     stallWindow   // the full-stall counter over PressureLimit.Window
	stallGen   int           // the generation stalls belongs to
	groupKills uint64        // oom_group_kill last seen
	pidsWarned bool
	last       []sampler.Proc // the last sample's tree, to name an OOM kill's victim
	victim     int            // the last logged OOM kill's victim while samples still list it
}

// initMem takes the cgroup's counters and limit as they are when crinit
// starts: kills before it are not its to report. A panic here leaves no
// baseline, and the first reading becomes it; supervision goes on.
func (s *Supervisor) initMem() {
	defer func() {
		if r := recover(); r != nil {
			s.logPanic("memory", r)
		}
	}()
	s.mem.rssLimit, s.mem.rssWarn, s.mem.heapMiB = s.cfg.RSSLimit, s.cfg.RSSWarn, s.cfg.HeapMiB
	if m, ok := s.host.memory(); ok {
		s.mem.limit, s.mem.events, s.mem.seen, s.mem.groupKills = m.Limit, m.Events, true, m.Events.OOMGroupKill
	}
}

// watchEvents hands each change of the cgroup's memory event counters to
// out, the latest reading replacing one the loop has not taken yet. It
// returns when w is closed or the cgroup empties.
func watchEvents(w *cgroup.EventWatch, cg *cgroup.Cgroup, out chan cgroup.Events, log hclog.Logger) {
	for {
		if err := w.Wait(); err != nil {
			if !errors.Is(err, os.ErrClosed) {
				log.Debug("memory events watch ended", "error", err)
			}
			return
		}
		ev, err := cg.Events()
		if err != nil {
			continue // the next sample reads them again
		}
		// Only this goroutine sends: after taking a stale value out,
		// there is room.
		select {
		case out <- ev:
		default:
			select {
			case <-out:
			default:
			}
			out <- ev
		}
	}
}

// onEvents takes a reading of the memory event counters, from the watch
// or from a sample, and reports the OOM kills it shows.
func (s *Supervisor) onEvents(ev cgroup.Events) {
	// A sample read before the watch's latest reading may arrive after it:
	// the counters only grow, so keep the larger of each.
	if s.mem.seen {
		ev = maxEvents(ev, s.mem.events)
	}
	if s.cgroup != nil && s.cgroup.Events != ev { // a copy: the published Status holds the old one
		m := *s.cgroup
		m.Events, m.OOMKills = ev, ev.OOMKill
		s.cgroup = &m
	}
	prev, seen := s.mem.events, s.mem.seen
	s.mem.events, s.mem.seen = ev, true
	if seen && ev.OOMKill > prev.OOMKill {
		s.oomKilled(ev.OOMKill-prev.OOMKill, ev)
	}
}

// maxEvents is the larger of each counter of a and b.
func maxEvents(a, b cgroup.Events) cgroup.Events {
	return cgroup.Events{Max: max(a.Max, b.Max), High: max(a.High, b.High), OOM: max(a.OOM, b.OOM),
		OOMKill: max(a.OOMKill, b.OOMKill), OOMGroupKill: max(a.OOMGroupKill, b.OOMGroupKill)}
}

// oomKilled logs kernel OOM kills in the cgroup as they happen, whichever
// process they hit: the child's own exit is classified when it is reaped.
func (s *Supervisor) oomKilled(n uint64, ev cgroup.Events) {
	args := []any{"oom_kills", n, "oom_kill_total", ev.OOMKill, "group_kill", ev.OOMGroupKill > s.mem.groupKills}
	s.mem.groupKills = ev.OOMGroupKill
	if v, ok := s.oomVictim(); ok {
		// The kernel may count a second kill of a victim whose memory is
		// not freed yet: the counters say so; the log names it once.
		if v.pid == s.mem.victim {
			return
		}
		s.mem.victim = v.pid
		args = append(args, "victim_pid", v.pid, "victim_command", v.command, "victim_rss_bytes", v.rss, "found_by", v.by)
	}
	if m := s.cgroup; m != nil {
		args = append(args, "cgroup_usage_bytes", m.Usage, "cgroup_limit_bytes", m.Limit)
	}
	s.log.Warn("oom kill", args...)
}

// victim is the process an OOM kill most likely hit.
type victim struct {
	pid     int
	command string
	rss     uint64 // at the last sample; 0 when it was not in it
	by      string // dying (SIGKILL pending, in exit, or a zombie), or gone since the last sample
}

// oomVictim names the OOM killer's victim. The kernel signals the event
// right after it sends SIGKILL: the victim is in the last sample and now
// dying, or gone if its parent was quicker to reap it. Of those, the
// largest wins, as the OOM killer picks the largest. A process too young
// to be sampled can only be found dying (not yet a zombie: a zombie of
// long standing is a leak, not a victim).
func (s *Supervisor) oomVictim() (victim, bool) {
	tree, err := s.host.fates()
	if err != nil {
		return victim{}, false
	}
	sampled := make(map[int]sampler.Proc, len(s.mem.last))
	for _, p := range s.mem.last {
		sampled[p.PID] = p
	}
	var best, young victim
	consider := func(v victim) {
		if best.pid == 0 || v.rss > best.rss {
			best = v
		}
	}
	for _, f := range tree {
		p, wasSampled := sampled[f.PID]
		delete(sampled, f.PID) // what is left is gone
		switch {
		case f.dying && wasSampled:
			consider(victim{pid: f.PID, command: cmp.Or(f.Command, p.Comm), rss: p.RSS, by: "dying"})
		case f.dying && !f.zombie && young.pid == 0:
			young = victim{pid: f.PID, command: f.Command, by: "dying"}
		}
	}
	for _, p := range s.mem.last {
		if _, gone := sampled[p.PID]; gone {
			consider(victim{pid: p.PID, command: cmp.Or(s.argvOf(p.PID), p.Comm), rss: p.RSS, by: "gone"})
		}
	}
	if best.pid == 0 {
		best = young
	}
	return best, best.pid != 0
}

// argvOf is the command line of a child crinit started as pid, "" for
// any other process.
func (s *Supervisor) argvOf(pid int) string {
	for _, g := range s.gens {
		if g.pid == pid {
			return strings.Join(g.argv, " ")
		}
	}
	if e := s.lastExit; e != nil && e.PID == pid {
		return strings.Join(s.lastArgv, " ")
	}
	return ""
}

// onCgroup judges a sample's reading of the cgroup: its events, a changed
// limit, the pids and the memory pressure.
func (s *Supervisor) onCgroup(smp sampler.Sample) {
	m := smp.Cgroup
	if m == nil {
		return
	}
	s.onEvents(m.Events)
	if m.Limit != s.mem.limit {
		s.limitChanged(s.mem.limit, m.Limit)
	}
	if g := s.live(); g != nil && !smp.At.Before(g.started) {
		s.checkHeap(g)
	}
	s.checkPIDs(m.PIDs)
	s.checkPressure(m, smp)
}

// limitChanged follows a new memory limit, as Kubernetes' in-place resize
// sets: auto sizes are derived anew, the RSS limit at once, the heap for
// the next child. A limit removed (0) keeps the sizes in force: there is
// nothing to derive them from.
func (s *Supervisor) limitChanged(old, limit uint64) {
	s.mem.limit = limit
	args := []any{"old_limit_bytes", old, "limit_bytes", limit}
	if s.cfg.AutoRSS && limit > 0 {
		s.mem.rssLimit = uint64(limits.AutoRSSLimit(limit, limits.DefaultRSSLimit))
		s.mem.rssWarn = s.cfg.RSSWarnAt.Of(s.mem.rssLimit)
		for _, g := range s.alive() {
			g.mem.limit, g.mem.warn = s.mem.rssLimit, s.mem.rssWarn
		}
		args = append(args, "rss_limit_bytes", s.mem.rssLimit, "rss_warn_bytes", s.mem.rssWarn)
	}
	if s.cfg.AutoHeap && limit > 0 {
		s.mem.heapMiB = limits.AutoHeapMiB(limit, limits.DefaultHeapMiB)
		args = append(args, "next_max_old_space_size_mib", s.mem.heapMiB)
	}
	s.log.Warn("memory limit changed", args...)
}

// checkHeap warns once when the limit, changed since g started, is at or
// below g's heap: V8 would grow into the kernel's OOM killer. With
// ResizeRestart, and a smaller heap for the next child, g is restarted;
// a child still starting is judged once it serves.
func (s *Supervisor) checkHeap(g *generation) {
	limit := s.mem.limit
	if g.heapWarned || limit == 0 || limit == g.limitAtStart || g.heapMiB*uint64(limits.MiB) < limit {
		return
	}
	restart := s.cfg.ResizeRestart && s.mem.heapMiB < g.heapMiB
	if restart && (!g.serving() || g.replacing != "") {
		return
	}
	g.heapWarned = true
	s.log.Warn("memory limit below the running heap", "pid", g.pid, "generation", g.id,
		"max_old_space_size_mib", g.heapMiB, "limit_bytes", limit, "next_max_old_space_size_mib", s.mem.heapMiB,
		"resize_restart", restart)
	if restart {
		s.restart(g, ReasonResize)
	}
}

// checkPIDs warns once the cgroup's tasks near pids.max, naming the
// parents that leave zombies unreaped: those are theirs to reap.
func (s *Supervisor) checkPIDs(p *cgroup.PIDs) {
	if p == nil || p.Max == 0 {
		return
	}
	if p.Current*100 < p.Max*pidsWarnPercent {
		s.mem.pidsWarned = false
		return
	}
	if s.mem.pidsWarned {
		return
	}
	s.mem.pidsWarned = true
	tree, _ := s.host.fates()
	zombies, parents := 0, map[int]int{}
	for _, f := range tree {
		if f.zombie {
			zombies++
			parents[f.PPID]++
		}
	}
	holders := make([]map[string]any, 0, len(parents))
	for ppid, n := range parents {
		holders = append(holders, map[string]any{"pid": ppid, "command": s.host.command(ppid), "zombies": n})
	}
	slices.SortFunc(holders, func(a, b map[string]any) int { return b["zombies"].(int) - a["zombies"].(int) })
	s.log.Warn("pids near limit", "pids_current", p.Current, "pids_max", p.Max, "zombies", zombies, "zombie_parents", holders)
}

// checkPressure restarts the current child once the cgroup's full-stall
// share over PressureLimit.Window reaches PressureLimit.Share. The window
// starts anew with each child.
func (s *Supervisor) checkPressure(m *cgroup.Memory, smp sampler.Sample) {
	g := s.live()
	if s.cfg.PressureLimit.Off() || m.Pressure == nil || g == nil || !g.serving() || g.replacing != "" || smp.At.Before(g.started) {
		return
	}
	if s.mem.stallGen != g.id {
		s.mem.stalls.reset()
		s.mem.stallGen = g.id
	}
	share, ok := s.mem.stalls.observe(smp.At, m.Pressure.Full.TotalUS, s.cfg.PressureLimit.Window)
	if !ok || share < s.cfg.PressureLimit.Share {
		return
	}
	s.log.Warn("memory pressure limit exceeded", "full_share", share, "limit", s.cfg.PressureLimit.String(),
		"some_avg10", m.Pressure.Some.Avg10, "full_avg10", m.Pressure.Full.Avg10,
		"cgroup_usage_bytes", m.Usage, "cgroup_limit_bytes", m.Limit, "rss_bytes", smp.RSS)
	s.mem.stalls.reset()
	s.restart(g, ReasonMemoryPressure)
}
