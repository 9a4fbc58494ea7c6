package supervisor

import (
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
	if s.cgroup != nil { // a copy: the published Status holds the old one
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

// oomKilled logs kernel OOM kills in the cgroup as they happen, whichever
// process they hit: the child's own exit is classified when it is reaped.
func (s *Supervisor) oomKilled(n uint64, ev cgroup.Events) {
	args := []any{"oom_kills", n, "oom_kill_total", ev.OOMKill, "group_kill", ev.OOMGroupKill > s.mem.groupKills}
	s.mem.groupKills = ev.OOMGroupKill
	if v, ok := s.oomVictim(); ok {
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
// right after it sends SIGKILL, so the victim is still in crinit's tree,
// dying, unless its parent was quicker to reap it: then it is the largest
// process of the last sample that is gone. Of several, the largest wins,
// as the OOM killer picks the largest.
func (s *Supervisor) oomVictim() (victim, bool) {
	rss := make(map[int]uint64, len(s.mem.last))
	for _, p := range s.mem.last {
		rss[p.PID] = p.RSS
	}
	var best victim
	dying, _ := s.host.dying()
	for _, p := range dying {
		if best.pid == 0 || rss[p.PID] > best.rss {
			best = victim{pid: p.PID, command: p.Command, rss: rss[p.PID], by: "dying"}
		}
	}
	if best.pid != 0 {
		return best, true
	}
	living, _ := s.host.descendants()
	for _, p := range s.mem.last {
		gone := !slices.ContainsFunc(living, func(l proc) bool { return l.PID == p.PID })
		if gone && p.RSS > best.rss {
			best = victim{pid: p.PID, rss: p.RSS, by: "gone"}
		}
	}
	for _, g := range s.gens {
		if g.pid == best.pid {
			best.command = strings.Join(s.cfg.Argv, " ")
		}
	}
	return best, best.pid != 0
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
	s.checkPIDs(m.PIDs)
	s.checkPressure(m, smp)
}

// limitChanged follows a new memory limit, as Kubernetes' in-place resize
// sets: auto sizes are derived anew, the RSS limit at once, the heap for
// the next child. A running heap that may now reach past the limit is
// warned of, and with ResizeRestart restarted.
func (s *Supervisor) limitChanged(old, limit uint64) {
	s.mem.limit = limit
	args := []any{"old_limit_bytes", old, "limit_bytes", limit}
	if s.cfg.AutoRSS {
		s.mem.rssLimit = uint64(limits.AutoRSSLimit(limit, limits.DefaultRSSLimit))
		s.mem.rssWarn = s.cfg.RSSWarnAt.Of(s.mem.rssLimit)
		for _, g := range s.alive() {
			g.mem.limit, g.mem.warn = s.mem.rssLimit, s.mem.rssWarn
		}
		args = append(args, "rss_limit_bytes", s.mem.rssLimit, "rss_warn_bytes", s.mem.rssWarn)
	}
	if s.cfg.AutoHeap {
		s.mem.heapMiB = limits.AutoHeapMiB(limit, limits.DefaultHeapMiB)
		args = append(args, "next_max_old_space_size_mib", s.mem.heapMiB)
	}
	s.log.Warn("memory limit changed", args...)
	g := s.live()
	if g == nil || g.heapMiB == 0 || limit == 0 || g.heapMiB*uint64(limits.MiB) < limit {
		return
	}
	s.log.Warn("memory limit below the running heap", "pid", g.pid, "generation", g.id,
		"max_old_space_size_mib", g.heapMiB, "limit_bytes", limit, "resize_restart", s.cfg.ResizeRestart)
	if s.cfg.ResizeRestart && g.serving() {
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
	dying, _ := s.host.dying()
	zombies, parents := 0, map[int]int{}
	for _, d := range dying {
		if d.zombie {
			zombies++
			parents[d.PPID]++
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
	if s.cfg.PressureLimit.Off() || m.Pressure == nil || g == nil || !g.serving() || g.replacing != "" {
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
