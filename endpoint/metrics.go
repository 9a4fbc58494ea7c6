package endpoint

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	runtimemetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/supervisor"
)

// The Prometheus text exposition format, version 0.0.4.
const textFormat = "text/plain; version=0.0.4; charset=utf-8"

// scrapes recycles the buffers /metrics writes into: a scrape is a few
// KiB, and under load allocating one per request is most of the work.
var scrapes = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func init() {
	// The Go runtime's and the process's series with HELP and TYPE lines,
	// as crinit's own have.
	metrics.ExposeMetadata(true)
}

// metrics serves crinit's series, computed from the supervisor's snapshot
// at scrape time so that its loop never waits on a scrape, then the Go
// runtime's (go_*) and the process's (process_*).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic recovered", "event", "metrics", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	// Requests that arrive while a scrape is being written share it: under
	// many concurrent scrapers crinit reads /proc once, not once each.
	v, _, _ := s.scrape.Do("metrics", func() (any, error) { return s.render(), nil })
	body := v.([]byte)
	w.Header().Set("Content-Type", textFormat)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// render writes one scrape.
func (s *Server) render() []byte {
	buf := scrapes.Get().(*bytes.Buffer)
	defer scrapes.Put(buf)
	buf.Reset()
	writeStatus(expo{buf}, s.src.Status())
	metrics.WriteProcessMetrics(buf)
	metrics.WriteFDMetrics(buf)
	writeRuntimeExtras(buf)
	return bytes.Clone(buf.Bytes())
}

// Escapes of the text format: HELP text, and label values.
var (
	helpEscape  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

// expo writes the text format.
type expo struct{ b *bytes.Buffer }

// family starts crinit_NAME's series with its HELP and TYPE lines.
func (e expo) family(name, typ, help string) {
	e.b.WriteString("# HELP crinit_")
	e.b.WriteString(name)
	e.b.WriteByte(' ')
	e.b.WriteString(helpEscape.Replace(help))
	e.b.WriteString("\n# TYPE crinit_")
	e.b.WriteString(name)
	e.b.WriteByte(' ')
	e.b.WriteString(typ)
	e.b.WriteByte('\n')
}

// sample writes one series of crinit_NAME; labels are name, value pairs.
func (e expo) sample(name string, v float64, labels ...string) {
	e.b.WriteString("crinit_")
	e.b.WriteString(name)
	for i := 0; i+1 < len(labels); i += 2 {
		if i == 0 {
			e.b.WriteByte('{')
		} else {
			e.b.WriteByte(',')
		}
		e.b.WriteString(labels[i])
		e.b.WriteString(`="`)
		e.b.WriteString(labelEscape.Replace(labels[i+1]))
		e.b.WriteByte('"')
	}
	if len(labels) > 1 {
		e.b.WriteByte('}')
	}
	e.b.WriteByte(' ')
	e.b.Write(strconv.AppendFloat(e.b.AvailableBuffer(), v, 'g', -1, 64))
	e.b.WriteByte('\n')
}

// one writes a family of a single series.
func (e expo) one(name, typ, help string, v float64) {
	e.family(name, typ, help)
	e.sample(name, v)
}

// writeStatus writes crinit's own series from a snapshot.
func writeStatus(e expo, st *supervisor.Status) {
	e.one("child_up", "gauge", "1 while a child runs.", boolValue(st.Child != nil))
	if t := st.Tree; t != nil {
		e.one("child_rss_bytes", "gauge", "RSS of the child's process tree at the last sample, shared pages counted once.", float64(t.RSSBytes))
		e.one("child_open_fds", "gauge", "Open file descriptors summed over the child's process tree.", float64(t.FDs))
		e.one("child_processes", "gauge", "Processes in the child's tree.", float64(t.Processes))
	}
	if len(st.Children) > 0 {
		e.family("child_generation_rss_bytes", "gauge", "RSS of each living child's tree at the last sample, by generation "+
			"(two during an overlapped restart).")
		for _, g := range st.Children {
			e.sample("child_generation_rss_bytes", float64(g.RSSBytes), "generation", strconv.Itoa(g.Generation), "phase", string(g.Phase))
		}
	}
	e.one("restarts_in_window", "gauge", "Restarts inside the sliding restart window.", float64(st.RestartsInWindow))
	e.one("restart_max", "gauge", "Restarts allowed inside the restart window (--restart-max); 0 allows none.", float64(st.RestartMax))
	e.one("child_starts_total", "counter", "Children started.", float64(st.Starts))
	e.family("child_exits_total", "counter", "Children ended, by reason.")
	for _, r := range supervisor.Reasons() {
		e.sample("child_exits_total", float64(st.ExitsByReason[r]), "reason", string(r))
	}
	e.family("restarts_total", "counter", "Restarts, by the reason the previous child ended.")
	for _, r := range supervisor.Reasons() {
		if r.Restarts() {
			e.sample("restarts_total", float64(st.RestartsByReason[r]), "reason", string(r))
		}
	}
	e.one("oom_kills_total", "counter", "Children killed by the kernel's OOM killer.", float64(st.ExitsByReason[supervisor.ReasonOOMKill]))
	e.one("zombies_reaped_total", "counter", "Processes other than the child that crinit reaped.", float64(st.OrphansReaped))
	if p := st.Probe; p != nil {
		e.family("probe_duration_seconds", "summary", "Duration of liveness probes.")
		e.sample("probe_duration_seconds_sum", p.DurationSum.Seconds())
		e.sample("probe_duration_seconds_count", float64(p.Count))
		e.one("probe_failures_total", "counter", "Failed liveness probes.", float64(p.FailuresTotal))
		e.one("probe_healthy", "gauge", "1 when the liveness probe passes.", boolValue(p.State == supervisor.ProbeHealthy))
	}
	if cg := st.Cgroup; cg != nil {
		writeCgroup(e, cg)
	}
}

// writeCgroup writes the cgroup's usage, limit, event counters, pressure
// and pids.
func writeCgroup(e expo, cg *cgroup.Memory) {
	e.one("cgroup_memory_usage_bytes", "gauge", "Memory charged to crinit's cgroup.", float64(cg.Usage))
	e.one("cgroup_memory_limit_bytes", "gauge", "Memory limit of crinit's cgroup; 0 when there is none.", float64(cg.Limit))
	e.one("cgroup_oom_kills", "gauge", "The cgroup's oom_kill counter.", float64(cg.OOMKills))
	e.family("cgroup_memory_events_total", "counter", "The cgroup's memory events (memory.events; on cgroup v1 max is "+
		"memory.failcnt and oom_kill the only other): times usage hit memory.max, went over memory.high, "+
		"the OOM killer ran, and processes it killed.")
	for _, ev := range []struct {
		name string
		n    uint64
	}{{"max", cg.Events.Max}, {"high", cg.Events.High}, {"oom", cg.Events.OOM}, {"oom_kill", cg.Events.OOMKill}} {
		e.sample("cgroup_memory_events_total", float64(ev.n), "event", ev.name)
	}
	if p := cg.Pressure; p != nil {
		e.family("cgroup_memory_pressure_stall_seconds_total", "counter", "Time the cgroup's tasks stalled waiting for memory "+
			"(memory.pressure): some = at least one task, full = all non-idle tasks at once.")
		e.sample("cgroup_memory_pressure_stall_seconds_total", float64(p.Some.TotalUS)/1e6, "kind", "some")
		e.sample("cgroup_memory_pressure_stall_seconds_total", float64(p.Full.TotalUS)/1e6, "kind", "full")
	}
	if p := cg.PIDs; p != nil {
		e.one("cgroup_pids_current", "gauge", "Tasks in the cgroup (pids.current).", float64(p.Current))
		e.one("cgroup_pids_max", "gauge", "The cgroup's task limit (pids.max), the smallest up the tree; 0 when there is none.", float64(p.Max))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// runtimeExtras are the runtime's settings that client_golang's Go
// collector exposed and VictoriaMetrics' does not (or names otherwise).
var runtimeExtras = []struct{ metric, name, help string }{
	{"/gc/gogc:percent", "go_gc_gogc_percent", "Heap size target percentage configured by GOGC."},
	{"/gc/gomemlimit:bytes", "go_gc_gomemlimit_bytes", "Go runtime memory limit configured by GOMEMLIMIT."},
	{"/sched/gomaxprocs:threads", "go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting."},
}

// writeRuntimeExtras writes runtimeExtras, and the process's address-space
// limit and network counters, under client_golang's names.
func writeRuntimeExtras(b *bytes.Buffer) {
	samples := make([]runtimemetrics.Sample, len(runtimeExtras))
	for i, x := range runtimeExtras {
		samples[i].Name = x.metric
	}
	runtimemetrics.Read(samples)
	for i, x := range runtimeExtras {
		if samples[i].Value.Kind() == runtimemetrics.KindUint64 {
			fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", x.name, x.help, x.name, x.name, samples[i].Value.Uint64())
		}
	}
	var as unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_AS, &as) == nil {
		limit := float64(as.Cur)
		if as.Cur == unix.RLIM_INFINITY {
			limit = -1 // as client_golang: no limit
		}
		fmt.Fprintf(b, "# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available in bytes.\n"+
			"# TYPE process_virtual_memory_max_bytes gauge\nprocess_virtual_memory_max_bytes %g\n", limit)
	}
	if rx, tx, ok := netTotals(); ok {
		fmt.Fprintf(b, "# HELP process_network_receive_bytes_total Number of bytes received by the process over the network.\n"+
			"# TYPE process_network_receive_bytes_total counter\nprocess_network_receive_bytes_total %d\n", rx)
		fmt.Fprintf(b, "# HELP process_network_transmit_bytes_total Number of bytes sent by the process over the network.\n"+
			"# TYPE process_network_transmit_bytes_total counter\nprocess_network_transmit_bytes_total %d\n", tx)
	}
}

// netTotals sums received and sent bytes over the interfaces of
// /proc/self/net/dev (crinit's network namespace), as client_golang did.
func netTotals() (rx, tx uint64, ok bool) {
	b, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		_, counters, found := strings.Cut(line, ":")
		f := strings.Fields(counters)
		if !found || len(f) < 9 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 == nil && err2 == nil {
			rx, tx = rx+r, tx+t
		}
	}
	return rx, tx, true
}
