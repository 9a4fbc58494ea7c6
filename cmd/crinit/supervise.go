package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/endpoint"
	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/listen"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/procfs"
	"github.com/crinit/crinit/supervisor"
)

// supervise applies the limits and runs the child; it returns crinit's
// exit status.
func supervise(o options, stdout io.Writer) int {
	// The signal handlers and the thread reserve take milliseconds: they
	// are set up while the limits are applied and the endpoint opened.
	startup := supervisor.BeginStartup()
	log := hclog.New(&hclog.LoggerOptions{
		Name:       "crinit",
		Level:      o.logLevel,
		Output:     stdout,
		JSONFormat: o.logFormat == "json",
		TimeFormat: time.RFC3339Nano,
	})
	cg := findCgroup(log)
	var cgLimit uint64
	if cg != nil {
		if m, err := cg.Read(); err == nil {
			cgLimit = m.Limit
		}
	}
	resolveAuto(&o, cgLimit, log)
	warnUnworkable(o, cgLimit, log)
	protectSelf(cg, o.rssLimit, cgLimit, log)
	cfg, err := childConfig(o, log)
	if err != nil {
		return exitUsage
	}
	cfg.Cgroup, cfg.Startup = cg, startup
	if len(o.listen) > 0 {
		release, err := holdSockets(o, &cfg, log)
		if err != nil {
			return exitUsage
		}
		defer release()
	}
	sup, err := supervisor.New(cfg, log)
	if err != nil {
		log.Error("supervisor not started", "error", err)
		return exitUsage
	}
	if o.healthAddr != "" {
		stop, err := serveEndpoint(o, cfg.RSSWarn, sup, log.Named("endpoint"))
		if err != nil {
			return exitUsage
		}
		defer stop()
	}
	return sup.Run()
}

// childConfig applies the limits set before exec (node's flags, the
// snapshot directory, RLIMIT_NOFILE) and turns o into the supervisor's
// configuration. A limit that cannot be applied is logged and returned.
func childConfig(o options, log hclog.Logger) (supervisor.Config, error) {
	// The supervisor sets the heap flag at each start: a resize may change
	// it. The user's own flag wins; then crinit sets none.
	argv, env := o.argv, os.Environ()
	_, _, heap := limits.NodeHeap(argv, env, o.heapMiB)
	heapMiB := o.heapMiB
	switch heap {
	case limits.UserArgv, limits.UserEnv:
		log.Info("user's heap flag kept", "flag", limits.HeapFlag, "found_in", string(heap), "ignored_mib", o.heapMiB)
		heapMiB = 0
	}
	if o.heapSnapshotDir != "" {
		if err := os.MkdirAll(o.heapSnapshotDir, 0o755); err != nil {
			log.Error("limit not applied", "flag", "--heap-snapshot-dir", "value", o.heapSnapshotDir, "error", err)
			return supervisor.Config{}, fmt.Errorf("create --heap-snapshot-dir: %w", err)
		}
		argv, env, _ = limits.NodeFlag(argv, env, "--heapsnapshot-signal", "SIGUSR2")
		argv, env, _ = limits.NodeFlag(argv, env, "--diagnostic-dir", o.heapSnapshotDir)
	}
	if o.nofile > 0 {
		before, err := limits.SetNofile(o.nofile)
		if err != nil {
			log.Error("limit not applied", "flag", "--nofile", "value", o.nofile, "error", err)
			return supervisor.Config{}, fmt.Errorf("set --nofile: %w", err)
		}
		log.Debug("nofile set", "before_soft", before.Cur, "before_hard", before.Max, "nofile", o.nofile)
	}
	rssWarn := o.rssWarn.Of(o.rssLimit)
	log.Info("limits applied", "nofile", o.nofile, "max_old_space_size_mib", o.heapMiB, "heap_flag", string(heap),
		"rss_limit_bytes", o.rssLimit, "rss_warn_bytes", rssWarn, "fd_warn", o.fdWarn.String(), "fd_limit", o.fdLimit.String())
	cfg := supervisor.Config{
		Argv: argv, Env: env,
		ForwardTo: o.forwardTo, StopTimeout: o.stopTimeout, RemnantTimeout: o.remnantTimeout,
		Restart: o.restart, ReloadSignal: o.reloadSignal, KillTimeout: o.killTimeout,
		SampleInterval: o.rssInterval, RSSLimit: o.rssLimit, RSSGrace: o.rssGrace, RSSWarn: rssWarn,
		TrendHorizon: o.trendHorizon, FDWarn: o.fdWarn, FDLimit: o.fdLimit,
		HeapSnapshotDir: o.heapSnapshotDir, HeapSnapshotKeep: o.heapSnapshotKeep,
		OOMScoreAdj: o.oomScoreAdj, DrainDelay: o.drainDelay, ShowArgv: o.statusShowArgv,
		PressureLimit: o.pressureLimit, HeapMiB: heapMiB, AutoRSS: o.rssAuto, AutoHeap: o.heapAuto && heapMiB > 0,
		RSSWarnAt: o.rssWarn, ResizeRestart: o.resizeRestart,
	}
	if o.probeURL != nil {
		cfg.Probe = probe.NewProber(*o.probeURL, o.probeTimeout)
		cfg.ProbeInterval, cfg.ProbeStartInterval, cfg.ProbePolicy = o.probeInterval, o.probeStartInterval, o.probePolicy
	}
	return cfg, nil
}

// serveEndpoint starts /healthz, /readyz, /status and /metrics for sup;
// stop shuts it down.
func serveEndpoint(o options, rssWarn uint64, sup *supervisor.Supervisor, log hclog.Logger) (stop func(), err error) {
	srv, err := endpoint.Listen(o.healthAddr, sup, limitsInForce(o, rssWarn), log)
	if err != nil {
		log.Error("endpoint not started", "flag", "--health-addr", "value", o.healthAddr, "error", err)
		return nil, fmt.Errorf("start endpoint: %w", err)
	}
	log.Info("endpoint listening", "addr", srv.Addr().String())
	srv.Serve()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// limitsInForce is what /status shows of the configuration.
func limitsInForce(o options, rssWarn uint64) map[string]any {
	m := map[string]any{
		"nofile":                 o.nofile,
		"max_old_space_size_mib": o.heapMiB,
		"rss_limit_bytes":        o.rssLimit,
		"rss_warn_bytes":         rssWarn,
		"rss_interval_ms":        o.rssInterval.Milliseconds(),
		"fd_warn":                o.fdWarn.String(),
		"fd_limit":               o.fdLimit.String(),
		"memory_pressure_limit":  o.pressureLimit.String(),
		"resize_restart":         o.resizeRestart,
		"restart":                string(o.restart.Mode),
		"restart_max":            o.restart.Max,
		"restart_window_ms":      o.restart.Window.Milliseconds(),
		"stop_timeout_ms":        o.stopTimeout.Milliseconds(),
		"kill_timeout_ms":        o.killTimeout.Milliseconds(),
	}
	if o.probeURL != nil {
		m["probe_url"] = o.probeURL.String()
		m["probe_interval_ms"] = o.probeInterval.Milliseconds()
		m["probe_start_interval_ms"] = o.probeStartInterval.Milliseconds()
		m["probe_timeout_ms"] = o.probeTimeout.Milliseconds()
		m["probe_retries"] = o.probePolicy.Retries
		m["probe_start_period_ms"] = o.probePolicy.StartPeriod.Milliseconds()
	}
	return m
}

// findCgroup finds crinit's memory cgroup and logs its limit and usage.
func findCgroup(log hclog.Logger) *cgroup.Cgroup {
	cg, err := cgroup.Find("/")
	if err != nil {
		if errors.Is(err, cgroup.ErrNoCgroup) {
			log.Info("no memory cgroup")
		} else {
			log.Warn("memory cgroup unreadable", "error", err)
		}
		return nil
	}
	m, err := cg.Read()
	if err != nil {
		log.Warn("memory cgroup unreadable", "version", cg.Version, "dir", cg.Dir, "error", err)
		return nil
	}
	_, group := cg.OOMGroup()
	args := []any{"version", cg.Version, "dir", cg.Dir, "limit_bytes", m.Limit, "usage_bytes", m.Usage,
		"oom_kills", m.OOMKills, "oom_group", group, "pressure", m.Pressure != nil}
	if m.PIDs != nil {
		args = append(args, "pids_current", m.PIDs.Current, "pids_max", m.PIDs.Max)
	}
	log.Info("memory cgroup", args...)
	return cg
}

// protectSelf keeps the kernel's OOM killer off crinit: it sets its own
// oom_score_adj to -1000, which the OOM killer never picks and a group
// kill spares, where it may (CAP_SYS_RESOURCE). Otherwise crinit may be
// picked once its child is gone and the cgroup is still full, and with
// memory.oom.group=1 (Kubernetes' default on cgroup v2 since 1.28) every
// OOM kill ends crinit with the child: that is warned of, since the RSS
// limit must then act first. Children get --child-oom-score-adj as before.
func protectSelf(cg *cgroup.Cgroup, rssLimit, cgLimit uint64, log hclog.Logger) {
	var dir string
	var group bool
	if cg != nil {
		dir, group = cg.OOMGroup()
	}
	fs := procfs.NewFS("")
	self := os.Getpid()
	from, _ := fs.OOMScoreAdj(self)
	err := fs.SetOOMScoreAdj(self, oomScoreMin)
	switch {
	case err == nil && group:
		log.Info("oom group kill spares crinit", "setting", "memory.oom.group", "dir", dir, "oom_score_adj", oomScoreMin, "from", from)
	case err == nil:
		log.Info("own oom_score_adj lowered", "oom_score_adj", oomScoreMin, "from", from)
	case group:
		log.Warn("oom group kill ends crinit with the child", "setting", "memory.oom.group", "dir", dir,
			"rss_limit_bytes", rssLimit, "cgroup_limit_bytes", cgLimit,
			"advice", "keep --rss-limit well below the cgroup limit, so that crinit restarts the child before the kernel kills both",
			"self_protect_error", fmt.Errorf("set own oom_score_adj to %d (needs CAP_SYS_RESOURCE): %w", oomScoreMin, err).Error())
	default:
		log.Debug("own oom_score_adj kept", "oom_score_adj", from, "error", err)
	}
}

// oomScoreMin is the oom_score_adj the OOM killer never picks.
const oomScoreMin = -1000

// resolveAuto turns "auto" sizes into numbers from the cgroup limit.
func resolveAuto(o *options, cgLimit uint64, log hclog.Logger) {
	if o.heapAuto {
		o.heapMiB = limits.AutoHeapMiB(cgLimit, fallbackHeapMiB)
		logAuto(log, "--max-old-space-size", o.heapMiB*uint64(limits.MiB), cgLimit)
	}
	if o.rssAuto {
		o.rssLimit = uint64(limits.AutoRSSLimit(cgLimit, fallbackRSSLimit))
		logAuto(log, "--rss-limit", o.rssLimit, cgLimit)
	}
}

func logAuto(log hclog.Logger, flag string, bytes, cgLimit uint64) {
	if cgLimit == 0 {
		log.Warn("auto size without a cgroup limit: using the default", "flag", flag, "bytes", bytes)
		return
	}
	log.Info("auto size", "flag", flag, "bytes", bytes, "cgroup_limit_bytes", cgLimit)
}

// warnUnworkable warns about settings that cannot do their job.
func warnUnworkable(o options, cgLimit uint64, log hclog.Logger) {
	heap := o.heapMiB * uint64(limits.MiB)
	if cgLimit > 0 && o.rssLimit >= cgLimit {
		log.Warn("rss limit at or over the cgroup limit: the kernel's OOM killer acts first",
			"rss_limit_bytes", o.rssLimit, "cgroup_limit_bytes", cgLimit)
	}
	if o.rssLimit > 0 && heap >= o.rssLimit {
		log.Warn("heap size at or over the rss limit: node will be restarted before V8 collects its garbage",
			"heap_bytes", heap, "rss_limit_bytes", o.rssLimit)
	}
	if w := o.restart.DelayMax * time.Duration(o.restart.Max); o.restart.Max > 0 && o.restart.Window < w/2 {
		log.Warn("restart window shorter than the backoff: the budget may never run out",
			"restart_window_ms", o.restart.Window.Milliseconds(), "restart_delay_max_ms", o.restart.DelayMax.Milliseconds(),
			"restart_max", o.restart.Max)
	}
	if cgLimit > 0 && heap >= cgLimit {
		log.Warn("heap size at or over the cgroup limit", "heap_bytes", heap, "cgroup_limit_bytes", cgLimit)
	}
}

// holdSockets binds every --listen address and sets cfg up to pass the
// sockets to each child: as descriptors 3, 4, … through crinit's exec
// shim, which sets LISTEN_PID; with the node preload unless it is off.
// release closes them.
func holdSockets(o options, cfg *supervisor.Config, log hclog.Logger) (release func(), err error) {
	socks := make([]*listen.Socket, 0, len(o.listen))
	release = func() {
		for _, s := range socks {
			_ = s.Close()
		}
	}
	for _, a := range o.listen {
		s, err := listen.Bind(a, o.listenBacklog)
		if err != nil {
			log.Error("socket not held", "flag", "--listen", "variable", envName("listen"), "address", a.String(), "error", err)
			release()
			return nil, fmt.Errorf("hold --listen %s: %w", a, err)
		}
		log.Info("socket held", "address", a.String(), "bound", s.Bound.String(), "fd", 3+len(socks), "name", s.Name())
		socks = append(socks, s)
		cfg.Files = append(cfg.Files, s.File)
	}
	self, err := os.Executable()
	if err != nil {
		log.Error("socket not held", "flag", "--listen", "error", fmt.Errorf("find crinit's binary for its exec shim: %w", err))
		release()
		return nil, fmt.Errorf("find crinit's binary: %w", err)
	}
	cfg.Shim = []string{self, shimArg}
	cfg.Env = append(cfg.Env, listen.Env(socks)...)
	cfg.Notify = true
	cfg.Overlap, cfg.OverlapReserve = o.overlap, o.overlapReserve
	preload := o.listenPreload && limits.IsNode(cfg.Argv[0])
	if preload {
		cfg.Env = listen.WithPreload(cfg.Env, o.listenGraceful)
	}
	// A new child is awaited when something will say it is ready: the
	// preload, or the probe. Otherwise it counts as ready once started.
	cfg.AwaitReady, cfg.ReadyTimeout = preload || o.probeURL != nil, o.readyTimeout
	return release, nil
}
