package endpoint

import (
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/supervisor"
)

// collector turns the supervisor's snapshot into metrics at scrape time,
// so the supervisor's loop never waits on Prometheus.
type collector struct {
	src Source
	log hclog.Logger

	up, rss, fds, procs, inWindow           *prometheus.Desc
	starts, exits, restarts, oomKills, reap *prometheus.Desc
	probeDur, probeFail, probeUp            *prometheus.Desc
	cgUsage, cgLimit, cgOOM                 *prometheus.Desc
	cgEvents, cgStall, pidsCur, pidsMax     *prometheus.Desc
	restartMax                              *prometheus.Desc
	genRSS                                  *prometheus.Desc
}

func newCollector(src Source, log hclog.Logger) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("crinit_"+name, help, labels, nil)
	}
	return &collector{
		src:       src,
		log:       log,
		up:        d("child_up", "1 while a child runs."),
		rss:       d("child_rss_bytes", "RSS of the child's process tree at the last sample, shared pages counted once."),
		fds:       d("child_open_fds", "Open file descriptors summed over the child's process tree."),
		procs:     d("child_processes", "Processes in the child's tree."),
		inWindow:  d("restarts_in_window", "Restarts inside the sliding restart window."),
		starts:    d("child_starts_total", "Children started."),
		exits:     d("child_exits_total", "Children ended, by reason.", "reason"),
		restarts:  d("restarts_total", "Restarts, by the reason the previous child ended.", "reason"),
		oomKills:  d("oom_kills_total", "Children killed by the kernel's OOM killer."),
		reap:      d("zombies_reaped_total", "Processes other than the child that crinit reaped."),
		probeDur:  d("probe_duration_seconds", "Duration of liveness probes."),
		probeFail: d("probe_failures_total", "Failed liveness probes."),
		probeUp:   d("probe_healthy", "1 when the liveness probe passes."),
		cgUsage:   d("cgroup_memory_usage_bytes", "Memory charged to crinit's cgroup."),
		cgLimit:   d("cgroup_memory_limit_bytes", "Memory limit of crinit's cgroup; 0 when there is none."),
		cgOOM:     d("cgroup_oom_kills", "The cgroup's oom_kill counter."),
		cgEvents: d("cgroup_memory_events_total", "The cgroup's memory events (memory.events; on cgroup v1 max is "+
			"memory.failcnt and oom_kill the only other): times usage hit memory.max, went over memory.high, "+
			"the OOM killer ran, and processes it killed.", "event"),
		cgStall: d("cgroup_memory_pressure_stall_seconds_total", "Time the cgroup's tasks stalled waiting for memory "+
			"(memory.pressure): some = at least one task, full = all non-idle tasks at once.", "kind"),
		pidsCur:    d("cgroup_pids_current", "Tasks in the cgroup (pids.current)."),
		pidsMax:    d("cgroup_pids_max", "The cgroup's task limit (pids.max), the smallest up the tree; 0 when there is none."),
		restartMax: d("restart_max", "Restarts allowed inside the restart window (--restart-max); 0 allows none."),
		genRSS: d("child_generation_rss_bytes", "RSS of each living child's tree at the last sample, by generation "+
			"(two during an overlapped restart).", "generation", "phase"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

// Collect runs on a goroutine of the Prometheus handler's, outside
// net/http's recover: a panic here must not take PID 1 down.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic recovered", "event", "metrics", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	st := c.src.Status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.up, boolValue(st.Child != nil))
	if st.Tree != nil {
		gauge(c.rss, float64(st.Tree.RSSBytes))
		gauge(c.fds, float64(st.Tree.FDs))
		gauge(c.procs, float64(st.Tree.Processes))
	}
	for _, g := range st.Children {
		gauge(c.genRSS, float64(g.RSSBytes), strconv.Itoa(g.Generation), string(g.Phase))
	}
	gauge(c.inWindow, float64(st.RestartsInWindow))
	gauge(c.restartMax, float64(st.RestartMax))
	counter(c.starts, float64(st.Starts))
	for _, r := range supervisor.Reasons() {
		counter(c.exits, float64(st.ExitsByReason[r]), string(r))
		if r.Restarts() {
			counter(c.restarts, float64(st.RestartsByReason[r]), string(r))
		}
	}
	counter(c.oomKills, float64(st.ExitsByReason[supervisor.ReasonOOMKill]))
	counter(c.reap, float64(st.OrphansReaped))
	if p := st.Probe; p != nil {
		ch <- prometheus.MustNewConstSummary(c.probeDur, uint64(p.Count), p.DurationSum.Seconds(), nil)
		counter(c.probeFail, float64(p.FailuresTotal))
		gauge(c.probeUp, boolValue(p.State == supervisor.ProbeHealthy))
	}
	if cg := st.Cgroup; cg != nil {
		gauge(c.cgUsage, float64(cg.Usage))
		gauge(c.cgLimit, float64(cg.Limit))
		gauge(c.cgOOM, float64(cg.OOMKills))
		c.collectCgroup(ch, cg)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collectCgroup adds the cgroup's event counters, pressure and pids.
func (c *collector) collectCgroup(ch chan<- prometheus.Metric, cg *cgroup.Memory) {
	for _, e := range []struct {
		name string
		n    uint64
	}{{"max", cg.Events.Max}, {"high", cg.Events.High}, {"oom", cg.Events.OOM}, {"oom_kill", cg.Events.OOMKill}} {
		ch <- prometheus.MustNewConstMetric(c.cgEvents, prometheus.CounterValue, float64(e.n), e.name)
	}
	if p := cg.Pressure; p != nil {
		ch <- prometheus.MustNewConstMetric(c.cgStall, prometheus.CounterValue, float64(p.Some.TotalUS)/1e6, "some")
		ch <- prometheus.MustNewConstMetric(c.cgStall, prometheus.CounterValue, float64(p.Full.TotalUS)/1e6, "full")
	}
	if p := cg.PIDs; p != nil {
		ch <- prometheus.MustNewConstMetric(c.pidsCur, prometheus.GaugeValue, float64(p.Current))
		ch <- prometheus.MustNewConstMetric(c.pidsMax, prometheus.GaugeValue, float64(p.Max))
	}
}
