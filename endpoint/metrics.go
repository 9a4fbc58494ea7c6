package endpoint

import (
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

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
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
