package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/listen"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/supervisor"
)

// Fallbacks for "auto" when crinit is in no memory cgroup with a limit.
const (
	fallbackHeapMiB  = limits.DefaultHeapMiB
	fallbackRSSLimit = limits.DefaultRSSLimit
)

// options is the validated configuration of one crinit run.
type options struct {
	argv           []string
	nofile         uint64 // 0: leave RLIMIT_NOFILE as inherited
	heapMiB        uint64 // 0: do not set node's heap limit
	heapAuto       bool   // heapMiB comes from the cgroup limit
	forwardTo      supervisor.ForwardTarget
	stopTimeout    time.Duration
	remnantTimeout time.Duration
	logFormat      string
	logLevel       hclog.Level

	restart      supervisor.Policy
	reloadSignal syscall.Signal
	killTimeout  time.Duration

	rssInterval      time.Duration
	rssLimit         uint64 // bytes; 0: off
	rssAuto          bool   // rssLimit comes from the cgroup limit
	rssGrace         int
	rssWarn          limits.Threshold // a share of rssLimit, or bytes
	trendHorizon     time.Duration
	fdWarn, fdLimit  limits.Threshold // shares of RLIMIT_NOFILE, or counts
	heapSnapshotDir  string
	heapSnapshotKeep int
	oomScoreAdj      int
	pressureLimit    supervisor.PressureLimit
	resizeRestart    bool

	probeURL           *probe.Target // nil: no probe
	probeInterval      time.Duration
	probeStartInterval time.Duration
	probeTimeout       time.Duration
	probePolicy        probe.Policy
	healthAddr         string // "": no endpoint
	drainDelay         time.Duration
	statusShowArgv     bool

	listen         []listen.Addr // the sockets crinit holds; none: the app binds its own
	listenBacklog  int           // 0: the kernel's somaxconn
	listenPreload  bool
	listenGraceful bool
	readyTimeout   time.Duration
	overlap        bool
	overlapReserve uint64 // bytes; 0: the replaced child's RSS when it became ready
}

// flagSpec is one flag: its name, default, help, and how its value goes
// into options. Its environment variable is envName(name).
type flagSpec struct {
	name, value, usage string
	parse              func(o *options, v string) error
}

// repeatable flags may be given more than once; their variable holds the
// values comma-separated, and parse gets them so.
var repeatable = map[string]bool{"listen": true}

// flagSpecs lists crinit's flags in the order --help shows them.
var flagSpecs = []flagSpec{
	{"nofile", "8192", "RLIMIT_NOFILE (soft and hard) for the child, 64 or more; 0 keeps the inherited limit",
		func(o *options, v string) (err error) {
			// crinit holds the same limit: it needs descriptors of its own
			// to read /proc and serve its endpoint.
			if o.nofile, err = parseCount(v); err == nil && o.nofile > 0 && o.nofile < minNofile {
				err = fmt.Errorf("must be 0 or at least %d", minNofile)
			}
			return
		}},
	{"max-old-space-size", "256", "node's V8 heap limit: MiB (a bare number), a size such as 256MiB, or auto (50% of the cgroup limit); 0 disables",
		func(o *options, v string) (err error) {
			if o.heapAuto = v == "auto"; o.heapAuto {
				return nil
			}
			o.heapMiB, err = parseHeapMiB(v)
			return
		}},
	{"forward-to", string(supervisor.ForwardGroup), "who receives forwarded signals: group (the child's process group) or child",
		func(o *options, v string) (err error) { o.forwardTo, err = supervisor.ParseForwardTarget(v); return }},
	{"stop-timeout", "8s", "on SIGTERM, SIGINT or SIGQUIT, how long to wait for the child before SIGKILL",
		func(o *options, v string) (err error) { o.stopTimeout, err = parseDuration(v); return }},
	{"remnant-timeout", "2s", "after the child exits, how long leftover processes get between SIGTERM and SIGKILL",
		func(o *options, v string) (err error) { o.remnantTimeout, err = parseDuration(v); return }},
	{"restart", string(supervisor.OnFailure), "restart policy: on-failure (not after a clean exit 0), always or never",
		func(o *options, v string) (err error) { o.restart.Mode, err = supervisor.ParseMode(v); return }},
	{"restart-delay", "1s", "first delay before a restart; it doubles with each restart",
		func(o *options, v string) (err error) { o.restart.Delay, err = boundedDuration(v, 0, maxDelay); return }},
	{"restart-delay-max", "10s", "longest delay before a restart",
		func(o *options, v string) (err error) {
			o.restart.DelayMax, err = boundedDuration(v, 0, maxDelay)
			return
		}},
	{"min-uptime", "30s", "a child up this long resets the delay to --restart-delay",
		func(o *options, v string) (err error) { o.restart.MinUptime, err = parseDuration(v); return }},
	{"restart-max", "10", "restarts allowed in any --restart-window; one more and crinit exits with the child's status",
		func(o *options, v string) error {
			n, err := parseCount(v)
			o.restart.Max = int(min(n, 1<<31))
			return err
		}},
	{"restart-window", "120s", "the sliding window of the restart budget",
		func(o *options, v string) (err error) { o.restart.Window, err = positiveDuration(v); return }},
	{"reload-signal", "", "a signal (e.g. SIGHUP) that restarts the child instead of being forwarded; empty: none",
		func(o *options, v string) (err error) { o.reloadSignal, err = parseReloadSignal(v); return }},
	{"kill-timeout", "5s", "when crinit restarts the child (rss, fd, probe, reload), how long between SIGTERM and SIGKILL",
		func(o *options, v string) (err error) { o.killTimeout, err = parseDuration(v); return }},
	{"rss-interval", "1s", "how often the RSS and descriptors of the child's process tree are sampled",
		func(o *options, v string) (err error) {
			o.rssInterval, err = boundedDuration(v, minInterval, maxDelay)
			return
		}},
	{"rss-limit", "300MiB", "restart the child when its tree's RSS stays over this size; auto: 60% of the cgroup limit; 0 disables",
		func(o *options, v string) error {
			if o.rssAuto = v == "auto"; o.rssAuto {
				return nil
			}
			size, err := limits.ParseSize(v)
			o.rssLimit = uint64(size)
			return err
		}},
	{"rss-grace", "2", "consecutive samples over --rss-limit before the restart",
		func(o *options, v string) error {
			n, err := parseCount(v)
			if err == nil && n == 0 {
				return errors.New("must be 1 or more")
			}
			o.rssGrace = int(min(n, 1<<31))
			return err
		}},
	{"rss-warn", "80%", "log a warning when the tree's RSS crosses this: a share of --rss-limit or a size; 0 disables",
		func(o *options, v string) (err error) {
			o.rssWarn, err = limits.ParseThreshold(v, parseSizeBytes)
			return
		}},
	{"rss-trend-horizon", "10m", "warn when the fitted RSS growth reaches --rss-limit within this time",
		func(o *options, v string) (err error) { o.trendHorizon, err = parseDuration(v); return }},
	{"heap-snapshot-dir", "", "directory for node heap snapshots, taken (SIGUSR2) when the tree crosses --rss-warn; empty: none",
		func(o *options, v string) error { o.heapSnapshotDir = v; return nil }},
	{"heap-snapshot-keep", "3", "how many heap snapshots to keep in --heap-snapshot-dir",
		func(o *options, v string) error {
			n, err := parseCount(v)
			if err == nil && n == 0 {
				return errors.New("must be 1 or more")
			}
			o.heapSnapshotKeep = int(min(n, 1<<31))
			return err
		}},
	{"fd-warn", "80%", "warn when a process of the tree holds this many descriptors: a share of its RLIMIT_NOFILE or a count; 0 disables",
		func(o *options, v string) (err error) { o.fdWarn, err = limits.ParseThreshold(v, parseCount); return }},
	{"fd-limit", "95%", "restart the child when a process of the tree holds this many descriptors; 0 disables",
		func(o *options, v string) (err error) { o.fdLimit, err = limits.ParseThreshold(v, parseCount); return }},
	{"memory-pressure-limit", "60%/30s", "restart the child when all the cgroup's tasks stalled on memory (PSI full) for this share of this window; 0 disables",
		func(o *options, v string) (err error) { o.pressureLimit, err = parsePressureLimit(v); return }},
	{"resize-restart", "false", "restart the child when a lowered cgroup memory limit falls below its heap size; otherwise only warn",
		func(o *options, v string) (err error) { o.resizeRestart, err = parseBool(v); return }},
	{"child-oom-score-adj", "500", "the child's oom_score_adj (-1000 to 1000), so the OOM killer picks node, not crinit",
		func(o *options, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < -1000 || n > 1000 {
				return errors.New("want a whole number from -1000 to 1000")
			}
			o.oomScoreAdj = n
			return nil
		}},
	{"probe-url", "", "liveness probe of the app: http://..., https://... (GET; 2xx and 3xx pass) or tcp://host:port; empty: none",
		func(o *options, v string) error {
			if v == "" {
				return nil
			}
			t, err := probe.ParseTarget(v)
			o.probeURL = &t
			return err
		}},
	{"probe-interval", "30s", "time between probes",
		func(o *options, v string) (err error) {
			o.probeInterval, err = boundedDuration(v, minInterval, maxDelay)
			return
		}},
	{"probe-start-interval", "1s", "time between probes while a new child is in its start period",
		func(o *options, v string) (err error) {
			o.probeStartInterval, err = boundedDuration(v, minInterval, maxDelay)
			return
		}},
	{"probe-timeout", "10s", "a probe that takes longer fails with cause timeout",
		func(o *options, v string) (err error) { o.probeTimeout, err = positiveDuration(v); return }},
	{"probe-retries", "3", "consecutive failed probes that restart the child (reason probe)",
		func(o *options, v string) error {
			n, err := parseCount(v)
			if err == nil && n == 0 {
				return errors.New("must be 1 or more")
			}
			o.probePolicy.Retries = int(min(n, 1<<31))
			return err
		}},
	{"probe-start-period", "40s", "failures this soon after a start do not count; the first success ends it",
		func(o *options, v string) (err error) { o.probePolicy.StartPeriod, err = parseDuration(v); return }},
	{"health-addr", defaultHealthAddr, "address of crinit's endpoint (/healthz, /readyz, /status, /metrics); :9753 for Kubernetes; empty disables",
		func(o *options, v string) error {
			if v == "" {
				return nil
			}
			if _, _, err := net.SplitHostPort(v); err != nil {
				return errors.New("want host:port, as in 127.0.0.1:9753 or :9753")
			}
			o.healthAddr = v
			return nil
		}},
	{"listen", "", "hold a listening socket for the app across restarts, repeatable: tcp://HOST:PORT, HOST:PORT, :PORT or unix:///path",
		func(o *options, v string) error {
			values := strings.Split(v, ",")
			for _, s := range values {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				a, err := listen.Parse(s)
				if err != nil && len(values) > 1 {
					return fmt.Errorf("%q: %w", s, err) // name the bad one of several
				}
				if err != nil {
					return err
				}
				o.listen = append(o.listen, a)
			}
			return nil
		}},
	{"listen-backlog", "0", "backlog of the held sockets; 0: the kernel's somaxconn",
		func(o *options, v string) error {
			n, err := parseCount(v)
			o.listenBacklog = int(min(n, 1<<20))
			return err
		}},
	{"listen-preload", "true", "for a node child, make the app's server.listen(PORT) use the held socket (a preload in NODE_OPTIONS)",
		func(o *options, v string) (err error) { o.listenPreload, err = parseBool(v); return }},
	{"listen-graceful", "true", "with the preload, SIGTERM to an app without a handler of its own stops accepting, finishes requests and exits 0",
		func(o *options, v string) (err error) { o.listenGraceful, err = parseBool(v); return }},
	{"ready-timeout", "30s", "with the preload, how long a new child has to listen on a held socket (or send READY=1) before it counts as a failed start",
		func(o *options, v string) (err error) { o.readyTimeout, err = positiveDuration(v); return }},
	{"restart-overlap", "auto", "with --listen, restarts crinit plans start the new child before stopping the old one: auto (when memory allows) or never",
		func(o *options, v string) error {
			if o.overlap = v == "auto"; v != "auto" && v != "never" {
				return errors.New("want auto or never")
			}
			return nil
		}},
	{"overlap-reserve", "0", "memory an overlapped restart needs free in the cgroup; 0: the old child's RSS when it became ready",
		func(o *options, v string) (err error) { o.overlapReserve, err = parseSizeBytes(v); return }},
	{"drain-delay", "0s", "on SIGTERM, how long /readyz answers 503 before the signal is forwarded",
		func(o *options, v string) (err error) { o.drainDelay, err = parseDuration(v); return }},
	{"status-show-argv", "false", "show the child's argv in /status (it may hold secrets)",
		func(o *options, v string) (err error) { o.statusShowArgv, err = parseBool(v); return }},
	{"log-format", "json", "log format: json or text",
		func(o *options, v string) error {
			if o.logFormat = v; v != "json" && v != "text" {
				return errors.New("want json or text")
			}
			return nil
		}},
	{"log-level", "info", "log level: trace, debug, info, warn or error",
		func(o *options, v string) error {
			if o.logLevel = hclog.LevelFromString(v); o.logLevel == hclog.NoLevel || o.logLevel == hclog.Off {
				return errors.New("want trace, debug, info, warn or error")
			}
			return nil
		}},
}
