package main

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/listen"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/supervisor"
)

// result is what one pass through the CLI did, with the supervisor replaced
// by a recorder.
type result struct {
	calls  []options // what supervise was called with
	err    error     // what app.Run returned
	stdout string
	stderr string
}

// runApp drives the CLI as run does, but records the options instead of
// supervising anything.
func runApp(t *testing.T, args ...string) result {
	t.Helper()
	var r result
	var stdout, stderr strings.Builder
	flags, command := splitCommand(append([]string{"crinit"}, args...))
	app := newApp(&stdout, &stderr, command, func(o options) int {
		r.calls = append(r.calls, o)
		return 0
	})
	r.err = app.Run(flags)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// clearEnv unsets every CRINIT_* variable for the test, so that the
// environment the tests run in cannot change their outcome.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "CRINIT_") {
			t.Setenv(name, "") // restores the old value after the test
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// defaults is what a run with no flags and no environment must produce.
func defaults(argv ...string) options {
	return options{
		argv:           argv,
		nofile:         8192,
		heapMiB:        256,
		forwardTo:      supervisor.ForwardGroup,
		stopTimeout:    8 * time.Second,
		remnantTimeout: 2 * time.Second,
		logFormat:      "json",
		logLevel:       hclog.Info,
		restart: supervisor.Policy{Mode: supervisor.OnFailure, Delay: time.Second, DelayMax: 10 * time.Second,
			MinUptime: 30 * time.Second, Max: 10, Window: 120 * time.Second},
		killTimeout:        5 * time.Second,
		rssInterval:        time.Second,
		rssLimit:           300 << 20,
		rssGrace:           2,
		rssWarn:            limits.Threshold{Percent: 80},
		trendHorizon:       10 * time.Minute,
		fdWarn:             limits.Threshold{Percent: 80},
		fdLimit:            limits.Threshold{Percent: 95},
		heapSnapshotKeep:   3,
		oomScoreAdj:        500,
		pressureLimit:      supervisor.PressureLimit{Share: 0.6, Window: 30 * time.Second},
		probeInterval:      30 * time.Second,
		probeStartInterval: time.Second,
		probeTimeout:       10 * time.Second,
		probePolicy:        probe.Policy{Retries: 3, StartPeriod: 40 * time.Second},
		healthAddr:         "127.0.0.1:9753",
		listenPreload:      true,
		listenGraceful:     true,
		readyTimeout:       30 * time.Second,
		overlap:            true,
	}
}

// addrs parses --listen values the test knows to be valid.
func addrs(ss ...string) []listen.Addr {
	var out []listen.Addr
	for _, s := range ss {
		a, err := listen.Parse(s)
		if err != nil {
			panic(err)
		}
		out = append(out, a)
	}
	return out
}

// supervised checks that r is one successful call to supervise with want.
func supervised(t *testing.T, r result, want options) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("error: %v", r.err)
	}
	if len(r.calls) != 1 {
		t.Fatalf("supervise called %d times, want once", len(r.calls))
	}
	if got := r.calls[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("options =\n %+v\nwant\n %+v", got, want)
	}
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("output before supervising: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

func TestApp_Defaults(t *testing.T) {
	clearEnv(t)
	supervised(t, runApp(t, "--", "node", "server.js"), defaults("node", "server.js"))
}

func TestApp_Flags(t *testing.T) {
	tests := []struct {
		flag  string // without the dashes
		env   string // spelt out, not derived: the name is part of the interface
		value string
		other string // another valid value, for the environment when the flag must win
		set   func(*options)
	}{
		{"nofile", "CRINIT_NOFILE", "1024", "100", func(o *options) { o.nofile = 1024 }},
		{"nofile", "CRINIT_NOFILE", "0", "100", func(o *options) { o.nofile = 0 }},
		{"nofile", "CRINIT_NOFILE", " 65536 ", "100", func(o *options) { o.nofile = 65536 }},
		{"max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", "0", "100", func(o *options) { o.heapMiB = 0 }},
		{"max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", "512", "100", func(o *options) { o.heapMiB = 512 }},
		{"max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", "256MiB", "100", func(o *options) { o.heapMiB = 256 }},
		{"max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", "1GiB", "100", func(o *options) { o.heapMiB = 1024 }},
		{"max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", "1.5GiB", "100", func(o *options) { o.heapMiB = 1536 }},
		{"forward-to", "CRINIT_FORWARD_TO", "child", "group", func(o *options) { o.forwardTo = supervisor.ForwardChild }},
		{"forward-to", "CRINIT_FORWARD_TO", "group", "child", func(o *options) { o.forwardTo = supervisor.ForwardGroup }},
		{"stop-timeout", "CRINIT_STOP_TIMEOUT", "30s", "1s", func(o *options) { o.stopTimeout = 30 * time.Second }},
		{"stop-timeout", "CRINIT_STOP_TIMEOUT", "1m30s", "1s", func(o *options) { o.stopTimeout = 90 * time.Second }},
		{"stop-timeout", "CRINIT_STOP_TIMEOUT", "0s", "1s", func(o *options) { o.stopTimeout = 0 }},
		{"remnant-timeout", "CRINIT_REMNANT_TIMEOUT", "500ms", "1s", func(o *options) { o.remnantTimeout = 500 * time.Millisecond }},
		{"remnant-timeout", "CRINIT_REMNANT_TIMEOUT", "0", "1s", func(o *options) { o.remnantTimeout = 0 }},
		{"log-format", "CRINIT_LOG_FORMAT", "text", "json", func(o *options) { o.logFormat = "text" }},
		{"log-format", "CRINIT_LOG_FORMAT", "json", "text", func(o *options) { o.logFormat = "json" }},
		{"log-level", "CRINIT_LOG_LEVEL", "trace", "error", func(o *options) { o.logLevel = hclog.Trace }},
		{"log-level", "CRINIT_LOG_LEVEL", "debug", "error", func(o *options) { o.logLevel = hclog.Debug }},
		{"log-level", "CRINIT_LOG_LEVEL", "warn", "error", func(o *options) { o.logLevel = hclog.Warn }},
		{"log-level", "CRINIT_LOG_LEVEL", "error", "debug", func(o *options) { o.logLevel = hclog.Error }},
		{"max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", "auto", "100", func(o *options) { o.heapMiB, o.heapAuto = 0, true }},

		{"restart", "CRINIT_RESTART", "always", "never", func(o *options) { o.restart.Mode = supervisor.Always }},
		{"restart", "CRINIT_RESTART", "never", "always", func(o *options) { o.restart.Mode = supervisor.Never }},
		{"restart", "CRINIT_RESTART", "on-failure", "never", func(o *options) { o.restart.Mode = supervisor.OnFailure }},
		{"restart-delay", "CRINIT_RESTART_DELAY", "500ms", "2s", func(o *options) { o.restart.Delay = 500 * time.Millisecond }},
		{"restart-delay", "CRINIT_RESTART_DELAY", "0s", "2s", func(o *options) { o.restart.Delay = 0 }},
		{"restart-delay", "CRINIT_RESTART_DELAY", "10s", "2s", func(o *options) { o.restart.Delay = 10 * time.Second }},
		{"restart-delay-max", "CRINIT_RESTART_DELAY_MAX", "1m", "30s", func(o *options) { o.restart.DelayMax = time.Minute }},
		{"restart-delay-max", "CRINIT_RESTART_DELAY_MAX", "1s", "30s", func(o *options) { o.restart.DelayMax = time.Second }},
		{"min-uptime", "CRINIT_MIN_UPTIME", "5m", "1s", func(o *options) { o.restart.MinUptime = 5 * time.Minute }},
		{"min-uptime", "CRINIT_MIN_UPTIME", "0s", "1s", func(o *options) { o.restart.MinUptime = 0 }},
		{"restart-max", "CRINIT_RESTART_MAX", "3", "5", func(o *options) { o.restart.Max = 3 }},
		{"restart-max", "CRINIT_RESTART_MAX", "0", "5", func(o *options) { o.restart.Max = 0 }},
		{"restart-window", "CRINIT_RESTART_WINDOW", "10m", "1m", func(o *options) { o.restart.Window = 10 * time.Minute }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "SIGHUP", "SIGUSR2", func(o *options) { o.reloadSignal = syscall.SIGHUP }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "hup", "SIGUSR2", func(o *options) { o.reloadSignal = syscall.SIGHUP }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "HUP", "SIGUSR2", func(o *options) { o.reloadSignal = syscall.SIGHUP }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "1", "SIGUSR2", func(o *options) { o.reloadSignal = syscall.SIGHUP }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "12", "SIGHUP", func(o *options) { o.reloadSignal = syscall.SIGUSR2 }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "SIGUSR2", "SIGHUP", func(o *options) { o.reloadSignal = syscall.SIGUSR2 }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "SIGWINCH", "SIGHUP", func(o *options) { o.reloadSignal = syscall.SIGWINCH }},
		{"reload-signal", "CRINIT_RELOAD_SIGNAL", "40", "SIGHUP", func(o *options) { o.reloadSignal = syscall.Signal(40) }},
		{"kill-timeout", "CRINIT_KILL_TIMEOUT", "30s", "1s", func(o *options) { o.killTimeout = 30 * time.Second }},
		{"kill-timeout", "CRINIT_KILL_TIMEOUT", "0s", "1s", func(o *options) { o.killTimeout = 0 }},
		{"rss-interval", "CRINIT_RSS_INTERVAL", "250ms", "2s", func(o *options) { o.rssInterval = 250 * time.Millisecond }},
		{"rss-interval", "CRINIT_RSS_INTERVAL", "1m", "2s", func(o *options) { o.rssInterval = time.Minute }},
		{"rss-limit", "CRINIT_RSS_LIMIT", "auto", "1GiB", func(o *options) { o.rssLimit, o.rssAuto = 0, true }},
		{"rss-limit", "CRINIT_RSS_LIMIT", "0", "1GiB", func(o *options) { o.rssLimit = 0 }},
		{"rss-limit", "CRINIT_RSS_LIMIT", "512MiB", "1GiB", func(o *options) { o.rssLimit = 512 << 20 }},
		{"rss-limit", "CRINIT_RSS_LIMIT", "1G", "auto", func(o *options) { o.rssLimit = 1 << 30 }},
		{"rss-limit", "CRINIT_RSS_LIMIT", "400MB", "auto", func(o *options) { o.rssLimit = 400e6 }},
		{"rss-grace", "CRINIT_RSS_GRACE", "1", "3", func(o *options) { o.rssGrace = 1 }},
		{"rss-grace", "CRINIT_RSS_GRACE", "5", "3", func(o *options) { o.rssGrace = 5 }},
		{"rss-warn", "CRINIT_RSS_WARN", "90%", "50%", func(o *options) { o.rssWarn = limits.Threshold{Percent: 90} }},
		{"rss-warn", "CRINIT_RSS_WARN", "200MiB", "50%", func(o *options) { o.rssWarn = limits.Threshold{Amount: 200 << 20} }},
		{"rss-warn", "CRINIT_RSS_WARN", "0", "50%", func(o *options) { o.rssWarn = limits.Threshold{} }},
		{"rss-trend-horizon", "CRINIT_RSS_TREND_HORIZON", "1h", "1m", func(o *options) { o.trendHorizon = time.Hour }},
		{"rss-trend-horizon", "CRINIT_RSS_TREND_HORIZON", "0s", "1m", func(o *options) { o.trendHorizon = 0 }},
		{"heap-snapshot-dir", "CRINIT_HEAP_SNAPSHOT_DIR", "/var/snapshots", "/tmp", func(o *options) { o.heapSnapshotDir = "/var/snapshots" }},
		{"heap-snapshot-keep", "CRINIT_HEAP_SNAPSHOT_KEEP", "1", "7", func(o *options) { o.heapSnapshotKeep = 1 }},
		{"heap-snapshot-keep", "CRINIT_HEAP_SNAPSHOT_KEEP", "10", "7", func(o *options) { o.heapSnapshotKeep = 10 }},
		{"fd-warn", "CRINIT_FD_WARN", "50%", "90%", func(o *options) { o.fdWarn = limits.Threshold{Percent: 50} }},
		{"fd-warn", "CRINIT_FD_WARN", "1000", "90%", func(o *options) { o.fdWarn = limits.Threshold{Amount: 1000} }},
		{"fd-warn", "CRINIT_FD_WARN", "0", "90%", func(o *options) { o.fdWarn = limits.Threshold{} }},
		{"fd-limit", "CRINIT_FD_LIMIT", "0", "90%", func(o *options) { o.fdLimit = limits.Threshold{} }},
		{"fd-limit", "CRINIT_FD_LIMIT", "99.5%", "90%", func(o *options) { o.fdLimit = limits.Threshold{Percent: 99.5} }},
		{"fd-limit", "CRINIT_FD_LIMIT", "4000", "90%", func(o *options) { o.fdLimit = limits.Threshold{Amount: 4000} }},
		{"memory-pressure-limit", "CRINIT_MEMORY_PRESSURE_LIMIT", "40%/1m", "0", func(o *options) {
			o.pressureLimit = supervisor.PressureLimit{Share: 0.4, Window: time.Minute}
		}},
		{"memory-pressure-limit", "CRINIT_MEMORY_PRESSURE_LIMIT", "0", "50%/10s", func(o *options) { o.pressureLimit = supervisor.PressureLimit{} }},
		{"resize-restart", "CRINIT_RESIZE_RESTART", "true", "false", func(o *options) { o.resizeRestart = true }},
		{"child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", "-1000", "0", func(o *options) { o.oomScoreAdj = -1000 }},
		{"child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", "1000", "0", func(o *options) { o.oomScoreAdj = 1000 }},
		{"child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", "0", "100", func(o *options) { o.oomScoreAdj = 0 }},

		{"probe-url", "CRINIT_PROBE_URL", "http://127.0.0.1:3000/healthz", "tcp://127.0.0.1:3000", func(o *options) { o.probeURL = mustTarget("http://127.0.0.1:3000/healthz") }},
		{"probe-url", "CRINIT_PROBE_URL", "https://localhost:8443/ready", "tcp://127.0.0.1:3000", func(o *options) { o.probeURL = mustTarget("https://localhost:8443/ready") }},
		{"probe-url", "CRINIT_PROBE_URL", "tcp://127.0.0.1:5432", "http://127.0.0.1:3000/", func(o *options) { o.probeURL = mustTarget("tcp://127.0.0.1:5432") }},
		{"probe-url", "CRINIT_PROBE_URL", "", "http://127.0.0.1:3000/", func(o *options) { o.probeURL = nil }},
		{"probe-interval", "CRINIT_PROBE_INTERVAL", "5s", "1m", func(o *options) { o.probeInterval = 5 * time.Second }},
		{"probe-interval", "CRINIT_PROBE_INTERVAL", "1m30s", "1m", func(o *options) { o.probeInterval = 90 * time.Second }},
		{"probe-start-interval", "CRINIT_PROBE_START_INTERVAL", "250ms", "2s", func(o *options) { o.probeStartInterval = 250 * time.Millisecond }},
		{"probe-start-interval", "CRINIT_PROBE_START_INTERVAL", "5s", "2s", func(o *options) { o.probeStartInterval = 5 * time.Second }},
		{"probe-timeout", "CRINIT_PROBE_TIMEOUT", "500ms", "2s", func(o *options) { o.probeTimeout = 500 * time.Millisecond }},
		{"probe-timeout", "CRINIT_PROBE_TIMEOUT", "30s", "2s", func(o *options) { o.probeTimeout = 30 * time.Second }},
		// Over the interval is only refused when there is a probe to run.
		{"probe-timeout", "CRINIT_PROBE_TIMEOUT", "1m", "2s", func(o *options) { o.probeTimeout = time.Minute }},
		{"probe-retries", "CRINIT_PROBE_RETRIES", "1", "5", func(o *options) { o.probePolicy.Retries = 1 }},
		{"probe-retries", "CRINIT_PROBE_RETRIES", "10", "5", func(o *options) { o.probePolicy.Retries = 10 }},
		{"probe-start-period", "CRINIT_PROBE_START_PERIOD", "0s", "1m", func(o *options) { o.probePolicy.StartPeriod = 0 }},
		{"probe-start-period", "CRINIT_PROBE_START_PERIOD", "2m", "1m", func(o *options) { o.probePolicy.StartPeriod = 2 * time.Minute }},
		{"health-addr", "CRINIT_HEALTH_ADDR", ":9753", "127.0.0.1:1", func(o *options) { o.healthAddr = ":9753" }},
		{"health-addr", "CRINIT_HEALTH_ADDR", "0.0.0.0:8080", "127.0.0.1:1", func(o *options) { o.healthAddr = "0.0.0.0:8080" }},
		{"health-addr", "CRINIT_HEALTH_ADDR", "[::]:9753", "127.0.0.1:1", func(o *options) { o.healthAddr = "[::]:9753" }},
		{"health-addr", "CRINIT_HEALTH_ADDR", "", "127.0.0.1:1", func(o *options) { o.healthAddr = "" }},
		{"drain-delay", "CRINIT_DRAIN_DELAY", "5s", "1s", func(o *options) { o.drainDelay = 5 * time.Second }},
		{"drain-delay", "CRINIT_DRAIN_DELAY", "0s", "1s", func(o *options) { o.drainDelay = 0 }},
		{"status-show-argv", "CRINIT_STATUS_SHOW_ARGV", "true", "false", func(o *options) { o.statusShowArgv = true }},
		{"status-show-argv", "CRINIT_STATUS_SHOW_ARGV", "1", "false", func(o *options) { o.statusShowArgv = true }},
		{"status-show-argv", "CRINIT_STATUS_SHOW_ARGV", "yes", "false", func(o *options) { o.statusShowArgv = true }},
		{"status-show-argv", "CRINIT_STATUS_SHOW_ARGV", "TRUE", "false", func(o *options) { o.statusShowArgv = true }},
		{"status-show-argv", "CRINIT_STATUS_SHOW_ARGV", "false", "true", func(o *options) { o.statusShowArgv = false }},
		{"status-show-argv", "CRINIT_STATUS_SHOW_ARGV", "0", "true", func(o *options) { o.statusShowArgv = false }},
		{"listen", "CRINIT_LISTEN", ":3000", "", func(o *options) { o.listen = addrs(":3000") }},
		{"listen", "CRINIT_LISTEN", "tcp://[::]:3000,unix:///run/app.sock", "", func(o *options) { o.listen = addrs("[::]:3000", "unix:///run/app.sock") }},
		{"listen", "CRINIT_LISTEN", " :3000, :3001\n", "", func(o *options) { o.listen = addrs(":3000", ":3001") }},
		{"listen-backlog", "CRINIT_LISTEN_BACKLOG", "128", "0", func(o *options) { o.listenBacklog = 128 }},
		{"listen-preload", "CRINIT_LISTEN_PRELOAD", "false", "true", func(o *options) { o.listenPreload = false }},
		{"listen-graceful", "CRINIT_LISTEN_GRACEFUL", "false", "true", func(o *options) { o.listenGraceful = false }},
		{"ready-timeout", "CRINIT_READY_TIMEOUT", "5s", "30s", func(o *options) { o.readyTimeout = 5 * time.Second }},
		{"restart-overlap", "CRINIT_RESTART_OVERLAP", "never", "auto", func(o *options) { o.overlap = false }},
		{"overlap-reserve", "CRINIT_OVERLAP_RESERVE", "64MiB", "0", func(o *options) { o.overlapReserve = 64 << 20 }},
	}
	for _, tt := range tests {
		want := defaults("node", "server.js")
		tt.set(&want)
		t.Run("flag/--"+tt.flag+"="+tt.value, func(t *testing.T) {
			clearEnv(t)
			supervised(t, runApp(t, "--"+tt.flag+"="+tt.value, "--", "node", "server.js"), want)
		})
		t.Run("flag with separate value/--"+tt.flag+" "+tt.value, func(t *testing.T) {
			clearEnv(t)
			supervised(t, runApp(t, "--"+tt.flag, tt.value, "--", "node", "server.js"), want)
		})
		t.Run("env/"+tt.env+"="+tt.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.env, tt.value)
			supervised(t, runApp(t, "--", "node", "server.js"), want)
		})
		t.Run("flag beats env/--"+tt.flag+"="+tt.value+" "+tt.env+"="+tt.other, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.env, tt.other)
			supervised(t, runApp(t, "--"+tt.flag+"="+tt.value, "--", "node", "server.js"), want)
		})
	}
}

func TestApp_AllFlagsTogether(t *testing.T) {
	clearEnv(t)
	r := runApp(t,
		"--nofile", "4096", "--max-old-space-size", "768", "--forward-to", "child",
		"--stop-timeout", "20s", "--remnant-timeout", "3s", "--log-format", "text", "--log-level", "debug",
		"--", "npm", "start")
	want := defaults("npm", "start")
	want.nofile, want.heapMiB, want.forwardTo = 4096, 768, supervisor.ForwardChild
	want.stopTimeout, want.remnantTimeout = 20*time.Second, 3*time.Second
	want.logFormat, want.logLevel = "text", hclog.Debug
	supervised(t, r, want)
}

// mustTarget parses a --probe-url that the test knows to be valid.
func mustTarget(s string) *probe.Target {
	t, err := probe.ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return &t
}

// TestApp_Probe sets the probe's flags together: a timeout equal to the
// interval is allowed.
func TestApp_Probe(t *testing.T) {
	clearEnv(t)
	r := runApp(t, "--probe-url", "http://127.0.0.1:3000/healthz", "--probe-interval", "5s", "--probe-timeout", "5s",
		"--probe-retries", "2", "--probe-start-period", "1m", "--health-addr", ":9753", "--drain-delay", "3s",
		"--status-show-argv", "true", "--", "node", "server.js")
	want := defaults("node", "server.js")
	want.probeURL = mustTarget("http://127.0.0.1:3000/healthz")
	want.probeInterval, want.probeTimeout = 5*time.Second, 5*time.Second
	want.probePolicy = probe.Policy{Retries: 2, StartPeriod: time.Minute}
	want.healthAddr, want.drainDelay, want.statusShowArgv = ":9753", 3*time.Second, true
	supervised(t, r, want)
}

func TestApp_Command(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantArgv []string
		set      func(*options)
	}{
		{
			name:     "flags after -- belong to the command",
			args:     []string{"--nofile", "100", "--", "node", "--nofile", "5", "-x", "--", "version"},
			wantArgv: []string{"node", "--nofile", "5", "-x", "--", "version"},
			set:      func(o *options) { o.nofile = 100 },
		},
		{
			name:     "version after -- is the command",
			args:     []string{"--", "version"},
			wantArgv: []string{"version"},
		},
		{
			name:     "--version after -- is an argument",
			args:     []string{"--", "node", "--version"},
			wantArgv: []string{"node", "--version"},
		},
		{
			name:     "--help after -- is an argument",
			args:     []string{"--", "node", "--help"},
			wantArgv: []string{"node", "--help"},
		},
		{
			name:     "empty and spaced arguments kept",
			args:     []string{"--", "sh", "-c", "exec node  server.js", ""},
			wantArgv: []string{"sh", "-c", "exec node  server.js", ""},
		},
		{
			name:     "command without --",
			args:     []string{"node", "server.js"},
			wantArgv: []string{"node", "server.js"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			in := slices.Clone(tt.args)
			want := defaults(tt.wantArgv...)
			if tt.set != nil {
				tt.set(&want)
			}
			supervised(t, runApp(t, in...), want)
			if !slices.Equal(in, tt.args) {
				t.Errorf("arguments modified: %q, want %q", in, tt.args)
			}
		})
	}
}

func TestApp_Version(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			clearEnv(t)
			r := runApp(t, args...)
			if r.err != nil {
				t.Fatalf("error: %v", r.err)
			}
			if len(r.calls) != 0 {
				t.Errorf("supervise called with %+v", r.calls)
			}
			if want := "crinit version dev\n"; r.stdout != want {
				t.Errorf("stdout = %q, want %q", r.stdout, want)
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q, want none", r.stderr)
			}
		})
	}
}

func TestApp_Help(t *testing.T) {
	clearEnv(t)
	r := runApp(t, "--help")
	if r.err != nil {
		t.Fatalf("error: %v", r.err)
	}
	if len(r.calls) != 0 {
		t.Errorf("supervise called with %+v", r.calls)
	}
	for _, want := range []string{"crinit [flags] -- COMMAND [ARGS...]", "--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help does not mention %q:\n%s", want, r.stdout)
		}
	}
}

func TestApp_Invalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // each must appear in the error
	}{
		{"nofile letters", []string{"--nofile", "abc"}, nil, []string{"--nofile", "CRINIT_NOFILE", `"abc"`}},
		{"nofile negative", []string{"--nofile=-1"}, nil, []string{"--nofile", "CRINIT_NOFILE", `"-1"`}},
		{"nofile fraction", []string{"--nofile=1.5"}, nil, []string{"--nofile", "CRINIT_NOFILE", `"1.5"`}},
		{"heap word", []string{"--max-old-space-size", "lots"}, nil, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"lots"`}},
		{"heap not whole MiB", []string{"--max-old-space-size", "1.5MiB"}, nil, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"1.5MiB"`, "whole number of MiB"}},
		{"heap decimal MB", []string{"--max-old-space-size", "300MB"}, nil, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"300MB"`}},
		{"heap letters", []string{"--max-old-space-size", "abc"}, nil, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"abc"`}},
		{"heap negative", []string{"--max-old-space-size=-1"}, nil, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"-1"`}},
		{"forward-to parent", []string{"--forward-to", "parent"}, nil, []string{"--forward-to", "CRINIT_FORWARD_TO", `"parent"`}},
		{"stop-timeout letters", []string{"--stop-timeout", "abc"}, nil, []string{"--stop-timeout", "CRINIT_STOP_TIMEOUT", `"abc"`}},
		{"stop-timeout negative", []string{"--stop-timeout=-1s"}, nil, []string{"--stop-timeout", "CRINIT_STOP_TIMEOUT", `"-1s"`, "negative"}},
		{"stop-timeout without unit", []string{"--stop-timeout", "10"}, nil, []string{"--stop-timeout", "CRINIT_STOP_TIMEOUT", `"10"`}},
		{"remnant-timeout letters", []string{"--remnant-timeout", "x"}, nil, []string{"--remnant-timeout", "CRINIT_REMNANT_TIMEOUT", `"x"`}},
		{"log-format xml", []string{"--log-format", "xml"}, nil, []string{"--log-format", "CRINIT_LOG_FORMAT", `"xml"`}},
		{"log-level loud", []string{"--log-level", "loud"}, nil, []string{"--log-level", "CRINIT_LOG_LEVEL", `"loud"`}},
		{"log-level off", []string{"--log-level", "off"}, nil, []string{"--log-level", "CRINIT_LOG_LEVEL", `"off"`}},
		{"listen no port", []string{"--listen", "127.0.0.1"}, nil, []string{"--listen", "CRINIT_LISTEN", `"127.0.0.1"`}},
		{"listen port 0", []string{"--listen", ":0"}, nil, []string{"--listen", "CRINIT_LISTEN", `":0"`}},
		{"listen udp", []string{"--listen", "udp://:53"}, nil, []string{"--listen", "CRINIT_LISTEN", `"udp://:53"`}},
		{"listen relative unix", []string{"--listen", "unix://app.sock"}, nil, []string{"--listen", "CRINIT_LISTEN", `"unix://app.sock"`, "absolute"}},
		{"env listen bad second", nil, map[string]string{"CRINIT_LISTEN": ":3000,:99999"}, []string{"--listen", "CRINIT_LISTEN", `":99999"`}},
		{"restart-overlap sometimes", []string{"--restart-overlap", "sometimes"}, nil, []string{"--restart-overlap", "CRINIT_RESTART_OVERLAP", `"sometimes"`}},
		{"ready-timeout zero", []string{"--ready-timeout", "0s"}, nil, []string{"--ready-timeout", "CRINIT_READY_TIMEOUT", `"0s"`}},
		{"overlap-reserve word", []string{"--overlap-reserve", "lots"}, nil, []string{"--overlap-reserve", "CRINIT_OVERLAP_RESERVE", `"lots"`}},

		{"env nofile letters", nil, map[string]string{"CRINIT_NOFILE": "abc"}, []string{"--nofile", "CRINIT_NOFILE", `"abc"`}},
		{"env nofile negative", nil, map[string]string{"CRINIT_NOFILE": "-1"}, []string{"--nofile", "CRINIT_NOFILE", `"-1"`}},
		{"env heap word", nil, map[string]string{"CRINIT_MAX_OLD_SPACE_SIZE": "lots"}, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"lots"`}},
		{"env heap not whole MiB", nil, map[string]string{"CRINIT_MAX_OLD_SPACE_SIZE": "1.5MiB"}, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"1.5MiB"`}},
		{"env forward-to parent", nil, map[string]string{"CRINIT_FORWARD_TO": "parent"}, []string{"--forward-to", "CRINIT_FORWARD_TO", `"parent"`}},
		{"env stop-timeout letters", nil, map[string]string{"CRINIT_STOP_TIMEOUT": "abc"}, []string{"--stop-timeout", "CRINIT_STOP_TIMEOUT", `"abc"`}},
		{"env stop-timeout negative", nil, map[string]string{"CRINIT_STOP_TIMEOUT": "-1s"}, []string{"--stop-timeout", "CRINIT_STOP_TIMEOUT", `"-1s"`}},
		{"env remnant-timeout letters", nil, map[string]string{"CRINIT_REMNANT_TIMEOUT": "x"}, []string{"--remnant-timeout", "CRINIT_REMNANT_TIMEOUT", `"x"`}},
		{"env log-format xml", nil, map[string]string{"CRINIT_LOG_FORMAT": "xml"}, []string{"--log-format", "CRINIT_LOG_FORMAT", `"xml"`}},
		{"env log-level loud", nil, map[string]string{"CRINIT_LOG_LEVEL": "loud"}, []string{"--log-level", "CRINIT_LOG_LEVEL", `"loud"`}},
		{"env empty nofile", nil, map[string]string{"CRINIT_NOFILE": ""}, []string{"--nofile", "CRINIT_NOFILE", `""`}},

		{"restart sometimes", []string{"--restart=sometimes"}, nil, []string{"--restart", "CRINIT_RESTART", `"sometimes"`}},
		{"env restart sometimes", nil, map[string]string{"CRINIT_RESTART": "sometimes"}, []string{"--restart", "CRINIT_RESTART", `"sometimes"`}},
		{"restart Always", []string{"--restart=Always"}, nil, []string{"--restart", "CRINIT_RESTART", `"Always"`}},
		{"env restart Always", nil, map[string]string{"CRINIT_RESTART": "Always"}, []string{"--restart", "CRINIT_RESTART", `"Always"`}},
		{"restart empty", []string{"--restart="}, nil, []string{"--restart", "CRINIT_RESTART", `""`}},
		{"env restart empty", nil, map[string]string{"CRINIT_RESTART": ""}, []string{"--restart", "CRINIT_RESTART", `""`}},
		{"restart-delay -1s", []string{"--restart-delay=-1s"}, nil, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"-1s"`, "negative"}},
		{"env restart-delay -1s", nil, map[string]string{"CRINIT_RESTART_DELAY": "-1s"}, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"-1s"`, "negative"}},
		{"restart-delay soon", []string{"--restart-delay=soon"}, nil, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"soon"`}},
		{"env restart-delay soon", nil, map[string]string{"CRINIT_RESTART_DELAY": "soon"}, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"soon"`}},
		{"restart-delay 5", []string{"--restart-delay=5"}, nil, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"5"`}},
		{"env restart-delay 5", nil, map[string]string{"CRINIT_RESTART_DELAY": "5"}, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"5"`}},
		{"restart-delay-max -1s", []string{"--restart-delay-max=-1s"}, nil, []string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"-1s"`, "negative"}},
		{"env restart-delay-max -1s", nil, map[string]string{"CRINIT_RESTART_DELAY_MAX": "-1s"}, []string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"-1s"`, "negative"}},
		{"restart-delay-max x", []string{"--restart-delay-max=x"}, nil, []string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"x"`}},
		{"env restart-delay-max x", nil, map[string]string{"CRINIT_RESTART_DELAY_MAX": "x"}, []string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"x"`}},
		{"min-uptime -30s", []string{"--min-uptime=-30s"}, nil, []string{"--min-uptime", "CRINIT_MIN_UPTIME", `"-30s"`, "negative"}},
		{"env min-uptime -30s", nil, map[string]string{"CRINIT_MIN_UPTIME": "-30s"}, []string{"--min-uptime", "CRINIT_MIN_UPTIME", `"-30s"`, "negative"}},
		{"min-uptime long", []string{"--min-uptime=long"}, nil, []string{"--min-uptime", "CRINIT_MIN_UPTIME", `"long"`}},
		{"env min-uptime long", nil, map[string]string{"CRINIT_MIN_UPTIME": "long"}, []string{"--min-uptime", "CRINIT_MIN_UPTIME", `"long"`}},
		{"restart-max x", []string{"--restart-max=x"}, nil, []string{"--restart-max", "CRINIT_RESTART_MAX", `"x"`}},
		{"env restart-max x", nil, map[string]string{"CRINIT_RESTART_MAX": "x"}, []string{"--restart-max", "CRINIT_RESTART_MAX", `"x"`}},
		{"restart-max -1", []string{"--restart-max=-1"}, nil, []string{"--restart-max", "CRINIT_RESTART_MAX", `"-1"`}},
		{"env restart-max -1", nil, map[string]string{"CRINIT_RESTART_MAX": "-1"}, []string{"--restart-max", "CRINIT_RESTART_MAX", `"-1"`}},
		{"restart-max 2.5", []string{"--restart-max=2.5"}, nil, []string{"--restart-max", "CRINIT_RESTART_MAX", `"2.5"`}},
		{"env restart-max 2.5", nil, map[string]string{"CRINIT_RESTART_MAX": "2.5"}, []string{"--restart-max", "CRINIT_RESTART_MAX", `"2.5"`}},
		{"restart-window x", []string{"--restart-window=x"}, nil, []string{"--restart-window", "CRINIT_RESTART_WINDOW", `"x"`}},
		{"env restart-window x", nil, map[string]string{"CRINIT_RESTART_WINDOW": "x"}, []string{"--restart-window", "CRINIT_RESTART_WINDOW", `"x"`}},
		{"restart-window -1m", []string{"--restart-window=-1m"}, nil, []string{"--restart-window", "CRINIT_RESTART_WINDOW", `"-1m"`, "negative"}},
		{"env restart-window -1m", nil, map[string]string{"CRINIT_RESTART_WINDOW": "-1m"}, []string{"--restart-window", "CRINIT_RESTART_WINDOW", `"-1m"`, "negative"}},
		{"reload-signal SIGKILL", []string{"--reload-signal=SIGKILL"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGKILL"`, "cannot catch"}},
		{"env reload-signal SIGKILL", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "SIGKILL"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGKILL"`, "cannot catch"}},
		{"reload-signal 9", []string{"--reload-signal=9"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"9"`, "cannot catch"}},
		{"env reload-signal 9", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "9"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"9"`, "cannot catch"}},
		{"reload-signal SIGSTOP", []string{"--reload-signal=SIGSTOP"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGSTOP"`, "cannot catch"}},
		{"env reload-signal SIGSTOP", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "SIGSTOP"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGSTOP"`, "cannot catch"}},
		{"reload-signal SIGCHLD", []string{"--reload-signal=SIGCHLD"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGCHLD"`, "cannot catch"}},
		{"env reload-signal SIGCHLD", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "SIGCHLD"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGCHLD"`, "cannot catch"}},
		{"reload-signal SIGURG", []string{"--reload-signal=SIGURG"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGURG"`, "cannot catch"}},
		{"env reload-signal SIGURG", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "SIGURG"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGURG"`, "cannot catch"}},
		{"reload-signal 33", []string{"--reload-signal=33"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"33"`, "cannot catch"}},
		{"env reload-signal 33", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "33"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"33"`, "cannot catch"}},
		{"reload-signal SIGTERM", []string{"--reload-signal=SIGTERM"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGTERM"`, "shut down"}},
		{"env reload-signal SIGTERM", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "SIGTERM"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGTERM"`, "shut down"}},
		{"reload-signal 15", []string{"--reload-signal=15"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"15"`, "shut down"}},
		{"env reload-signal 15", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "15"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"15"`, "shut down"}},
		{"reload-signal int", []string{"--reload-signal=int"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"int"`, "shut down"}},
		{"env reload-signal int", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "int"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"int"`, "shut down"}},
		{"reload-signal SIGQUIT", []string{"--reload-signal=SIGQUIT"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGQUIT"`, "shut down"}},
		{"env reload-signal SIGQUIT", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "SIGQUIT"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"SIGQUIT"`, "shut down"}},
		{"reload-signal NOPE", []string{"--reload-signal=NOPE"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"NOPE"`, "signal name"}},
		{"env reload-signal NOPE", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "NOPE"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"NOPE"`, "signal name"}},
		{"reload-signal 0", []string{"--reload-signal=0"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"0"`, "signal name"}},
		{"env reload-signal 0", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "0"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"0"`, "signal name"}},
		{"reload-signal 65", []string{"--reload-signal=65"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"65"`, "signal name"}},
		{"env reload-signal 65", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "65"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"65"`, "signal name"}},
		{"reload-signal -1", []string{"--reload-signal=-1"}, nil, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"-1"`, "signal name"}},
		{"env reload-signal -1", nil, map[string]string{"CRINIT_RELOAD_SIGNAL": "-1"}, []string{"--reload-signal", "CRINIT_RELOAD_SIGNAL", `"-1"`, "signal name"}},
		{"kill-timeout x", []string{"--kill-timeout=x"}, nil, []string{"--kill-timeout", "CRINIT_KILL_TIMEOUT", `"x"`}},
		{"env kill-timeout x", nil, map[string]string{"CRINIT_KILL_TIMEOUT": "x"}, []string{"--kill-timeout", "CRINIT_KILL_TIMEOUT", `"x"`}},
		{"kill-timeout -5s", []string{"--kill-timeout=-5s"}, nil, []string{"--kill-timeout", "CRINIT_KILL_TIMEOUT", `"-5s"`, "negative"}},
		{"env kill-timeout -5s", nil, map[string]string{"CRINIT_KILL_TIMEOUT": "-5s"}, []string{"--kill-timeout", "CRINIT_KILL_TIMEOUT", `"-5s"`, "negative"}},
		{"rss-interval 1ns", []string{"--rss-interval=1ns"}, nil, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"1ns"`, "at least 100ms"}},
		{"nofile below 64", []string{"--nofile=10"}, nil, []string{"--nofile", "CRINIT_NOFILE", `"10"`, "at least 64"}},
		{"restart-window 0", []string{"--restart-window=0s"}, nil, []string{"--restart-window", "CRINIT_RESTART_WINDOW", `"0s"`, "above 0"}},
		{"restart-delay over a day", []string{"--restart-delay=25h"}, nil, []string{"--restart-delay", "CRINIT_RESTART_DELAY", `"25h"`, "at most 24h"}},
		{"rss-warn over rss-limit", []string{"--rss-warn=400MiB"}, nil, []string{"--rss-warn", "CRINIT_RSS_WARN", `"400MiB"`, "--rss-limit"}},
		{"fd-warn over fd-limit", []string{"--fd-warn=99%"}, nil, []string{"--fd-warn", "CRINIT_FD_WARN", `"99%"`, "--fd-limit"}},
		{"rss-interval 0s", []string{"--rss-interval=0s"}, nil, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"0s"`, "at least 100ms"}},
		{"env rss-interval 0s", nil, map[string]string{"CRINIT_RSS_INTERVAL": "0s"}, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"0s"`, "at least 100ms"}},
		{"rss-interval 0", []string{"--rss-interval=0"}, nil, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"0"`, "at least 100ms"}},
		{"env rss-interval 0", nil, map[string]string{"CRINIT_RSS_INTERVAL": "0"}, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"0"`, "at least 100ms"}},
		{"rss-interval fast", []string{"--rss-interval=fast"}, nil, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"fast"`}},
		{"env rss-interval fast", nil, map[string]string{"CRINIT_RSS_INTERVAL": "fast"}, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"fast"`}},
		{"rss-interval -1s", []string{"--rss-interval=-1s"}, nil, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"-1s"`, "negative"}},
		{"env rss-interval -1s", nil, map[string]string{"CRINIT_RSS_INTERVAL": "-1s"}, []string{"--rss-interval", "CRINIT_RSS_INTERVAL", `"-1s"`, "negative"}},
		{"rss-limit lots", []string{"--rss-limit=lots"}, nil, []string{"--rss-limit", "CRINIT_RSS_LIMIT", `"lots"`}},
		{"env rss-limit lots", nil, map[string]string{"CRINIT_RSS_LIMIT": "lots"}, []string{"--rss-limit", "CRINIT_RSS_LIMIT", `"lots"`}},
		{"rss-limit -1", []string{"--rss-limit=-1"}, nil, []string{"--rss-limit", "CRINIT_RSS_LIMIT", `"-1"`}},
		{"env rss-limit -1", nil, map[string]string{"CRINIT_RSS_LIMIT": "-1"}, []string{"--rss-limit", "CRINIT_RSS_LIMIT", `"-1"`}},
		{"rss-limit AUTO", []string{"--rss-limit=AUTO"}, nil, []string{"--rss-limit", "CRINIT_RSS_LIMIT", `"AUTO"`}},
		{"env rss-limit AUTO", nil, map[string]string{"CRINIT_RSS_LIMIT": "AUTO"}, []string{"--rss-limit", "CRINIT_RSS_LIMIT", `"AUTO"`}},
		{"rss-grace 0", []string{"--rss-grace=0"}, nil, []string{"--rss-grace", "CRINIT_RSS_GRACE", `"0"`, "1 or more"}},
		{"env rss-grace 0", nil, map[string]string{"CRINIT_RSS_GRACE": "0"}, []string{"--rss-grace", "CRINIT_RSS_GRACE", `"0"`, "1 or more"}},
		{"rss-grace x", []string{"--rss-grace=x"}, nil, []string{"--rss-grace", "CRINIT_RSS_GRACE", `"x"`}},
		{"env rss-grace x", nil, map[string]string{"CRINIT_RSS_GRACE": "x"}, []string{"--rss-grace", "CRINIT_RSS_GRACE", `"x"`}},
		{"rss-grace -2", []string{"--rss-grace=-2"}, nil, []string{"--rss-grace", "CRINIT_RSS_GRACE", `"-2"`}},
		{"env rss-grace -2", nil, map[string]string{"CRINIT_RSS_GRACE": "-2"}, []string{"--rss-grace", "CRINIT_RSS_GRACE", `"-2"`}},
		{"rss-warn 150%", []string{"--rss-warn=150%"}, nil, []string{"--rss-warn", "CRINIT_RSS_WARN", `"150%"`, "100%"}},
		{"env rss-warn 150%", nil, map[string]string{"CRINIT_RSS_WARN": "150%"}, []string{"--rss-warn", "CRINIT_RSS_WARN", `"150%"`, "100%"}},
		{"rss-warn 0%", []string{"--rss-warn=0%"}, nil, []string{"--rss-warn", "CRINIT_RSS_WARN", `"0%"`, "above 0%"}},
		{"env rss-warn 0%", nil, map[string]string{"CRINIT_RSS_WARN": "0%"}, []string{"--rss-warn", "CRINIT_RSS_WARN", `"0%"`, "above 0%"}},
		{"rss-warn lots", []string{"--rss-warn=lots"}, nil, []string{"--rss-warn", "CRINIT_RSS_WARN", `"lots"`}},
		{"env rss-warn lots", nil, map[string]string{"CRINIT_RSS_WARN": "lots"}, []string{"--rss-warn", "CRINIT_RSS_WARN", `"lots"`}},
		{"rss-trend-horizon x", []string{"--rss-trend-horizon=x"}, nil, []string{"--rss-trend-horizon", "CRINIT_RSS_TREND_HORIZON", `"x"`}},
		{"env rss-trend-horizon x", nil, map[string]string{"CRINIT_RSS_TREND_HORIZON": "x"}, []string{"--rss-trend-horizon", "CRINIT_RSS_TREND_HORIZON", `"x"`}},
		{"rss-trend-horizon -1m", []string{"--rss-trend-horizon=-1m"}, nil, []string{"--rss-trend-horizon", "CRINIT_RSS_TREND_HORIZON", `"-1m"`, "negative"}},
		{"env rss-trend-horizon -1m", nil, map[string]string{"CRINIT_RSS_TREND_HORIZON": "-1m"}, []string{"--rss-trend-horizon", "CRINIT_RSS_TREND_HORIZON", `"-1m"`, "negative"}},
		{"heap-snapshot-keep 0", []string{"--heap-snapshot-keep=0"}, nil, []string{"--heap-snapshot-keep", "CRINIT_HEAP_SNAPSHOT_KEEP", `"0"`, "1 or more"}},
		{"env heap-snapshot-keep 0", nil, map[string]string{"CRINIT_HEAP_SNAPSHOT_KEEP": "0"}, []string{"--heap-snapshot-keep", "CRINIT_HEAP_SNAPSHOT_KEEP", `"0"`, "1 or more"}},
		{"heap-snapshot-keep x", []string{"--heap-snapshot-keep=x"}, nil, []string{"--heap-snapshot-keep", "CRINIT_HEAP_SNAPSHOT_KEEP", `"x"`}},
		{"env heap-snapshot-keep x", nil, map[string]string{"CRINIT_HEAP_SNAPSHOT_KEEP": "x"}, []string{"--heap-snapshot-keep", "CRINIT_HEAP_SNAPSHOT_KEEP", `"x"`}},
		{"fd-warn abc", []string{"--fd-warn=abc"}, nil, []string{"--fd-warn", "CRINIT_FD_WARN", `"abc"`}},
		{"env fd-warn abc", nil, map[string]string{"CRINIT_FD_WARN": "abc"}, []string{"--fd-warn", "CRINIT_FD_WARN", `"abc"`}},
		{"fd-warn 0%", []string{"--fd-warn=0%"}, nil, []string{"--fd-warn", "CRINIT_FD_WARN", `"0%"`}},
		{"env fd-warn 0%", nil, map[string]string{"CRINIT_FD_WARN": "0%"}, []string{"--fd-warn", "CRINIT_FD_WARN", `"0%"`}},
		{"fd-warn 80MiB", []string{"--fd-warn=80MiB"}, nil, []string{"--fd-warn", "CRINIT_FD_WARN", `"80MiB"`}},
		{"env fd-warn 80MiB", nil, map[string]string{"CRINIT_FD_WARN": "80MiB"}, []string{"--fd-warn", "CRINIT_FD_WARN", `"80MiB"`}},
		{"fd-limit abc", []string{"--fd-limit=abc"}, nil, []string{"--fd-limit", "CRINIT_FD_LIMIT", `"abc"`}},
		{"env fd-limit abc", nil, map[string]string{"CRINIT_FD_LIMIT": "abc"}, []string{"--fd-limit", "CRINIT_FD_LIMIT", `"abc"`}},
		{"fd-limit 200%", []string{"--fd-limit=200%"}, nil, []string{"--fd-limit", "CRINIT_FD_LIMIT", `"200%"`, "100%"}},
		{"env fd-limit 200%", nil, map[string]string{"CRINIT_FD_LIMIT": "200%"}, []string{"--fd-limit", "CRINIT_FD_LIMIT", `"200%"`, "100%"}},
		{"fd-limit NaN%", []string{"--fd-limit=NaN%"}, nil, []string{"--fd-limit", "CRINIT_FD_LIMIT", `"NaN%"`}},
		{"env fd-limit NaN%", nil, map[string]string{"CRINIT_FD_LIMIT": "NaN%"}, []string{"--fd-limit", "CRINIT_FD_LIMIT", `"NaN%"`}},
		{"child-oom-score-adj 1001", []string{"--child-oom-score-adj=1001"}, nil, []string{"--child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", `"1001"`, "-1000 to 1000"}},
		{"env child-oom-score-adj 1001", nil, map[string]string{"CRINIT_CHILD_OOM_SCORE_ADJ": "1001"}, []string{"--child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", `"1001"`, "-1000 to 1000"}},
		{"memory-pressure-limit without a window", []string{"--memory-pressure-limit=60%"}, nil,
			[]string{"--memory-pressure-limit", "CRINIT_MEMORY_PRESSURE_LIMIT", `"60%"`, "60%/30s"}},
		{"env memory-pressure-limit 0%", nil, map[string]string{"CRINIT_MEMORY_PRESSURE_LIMIT": "0%/30s"},
			[]string{"--memory-pressure-limit", "CRINIT_MEMORY_PRESSURE_LIMIT", `"0%/30s"`, "above 0%"}},
		{"memory-pressure-limit short window", []string{"--memory-pressure-limit", "50%/100ms"}, nil,
			[]string{"--memory-pressure-limit", "CRINIT_MEMORY_PRESSURE_LIMIT", `"50%/100ms"`, "window"}},
		{"resize-restart maybe", []string{"--resize-restart=maybe"}, nil, []string{"--resize-restart", "CRINIT_RESIZE_RESTART", `"maybe"`}},
		{"child-oom-score-adj -1001", []string{"--child-oom-score-adj=-1001"}, nil, []string{"--child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", `"-1001"`, "-1000 to 1000"}},
		{"env child-oom-score-adj -1001", nil, map[string]string{"CRINIT_CHILD_OOM_SCORE_ADJ": "-1001"}, []string{"--child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", `"-1001"`, "-1000 to 1000"}},
		{"child-oom-score-adj abc", []string{"--child-oom-score-adj=abc"}, nil, []string{"--child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", `"abc"`, "-1000 to 1000"}},
		{"env child-oom-score-adj abc", nil, map[string]string{"CRINIT_CHILD_OOM_SCORE_ADJ": "abc"}, []string{"--child-oom-score-adj", "CRINIT_CHILD_OOM_SCORE_ADJ", `"abc"`, "-1000 to 1000"}},
		{"max-old-space-size Auto", []string{"--max-old-space-size=Auto"}, nil, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"Auto"`}},
		{"env max-old-space-size Auto", nil, map[string]string{"CRINIT_MAX_OLD_SPACE_SIZE": "Auto"}, []string{"--max-old-space-size", "CRINIT_MAX_OLD_SPACE_SIZE", `"Auto"`}},
		{"restart-delay over the default max", []string{"--restart-delay", "20s"}, nil,
			[]string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"10s"`, "--restart-delay (20s)"}},
		{"restart-delay-max under the default delay", []string{"--restart-delay-max", "500ms"}, nil,
			[]string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"500ms"`, "--restart-delay (1s)"}},
		{"restart-delay-max under restart-delay", []string{"--restart-delay", "5s", "--restart-delay-max", "2s"}, nil,
			[]string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"2s"`, "--restart-delay (5s)"}},
		{"env restart-delay-max under restart-delay", nil, map[string]string{"CRINIT_RESTART_DELAY": "5s", "CRINIT_RESTART_DELAY_MAX": "2s"},
			[]string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"2s"`, "--restart-delay (5s)"}},
		{"env restart-delay-max under flag restart-delay", []string{"--restart-delay", "5s"}, map[string]string{"CRINIT_RESTART_DELAY_MAX": "2s"},
			[]string{"--restart-delay-max", "CRINIT_RESTART_DELAY_MAX", `"2s"`}},

		{"probe-url ftp", []string{"--probe-url=ftp://x"}, nil, []string{"--probe-url", "CRINIT_PROBE_URL", `"ftp://x"`, "http://, https:// or tcp://"}},
		{"env probe-url ftp", nil, map[string]string{"CRINIT_PROBE_URL": "ftp://x"}, []string{"--probe-url", "CRINIT_PROBE_URL", `"ftp://x"`, "http://, https:// or tcp://"}},
		{"probe-url no host", []string{"--probe-url=http://"}, nil, []string{"--probe-url", "CRINIT_PROBE_URL", `"http://"`, "host"}},
		{"env probe-url no host", nil, map[string]string{"CRINIT_PROBE_URL": "http://"}, []string{"--probe-url", "CRINIT_PROBE_URL", `"http://"`, "host"}},
		{"probe-url tcp without port", []string{"--probe-url=tcp://app"}, nil, []string{"--probe-url", "CRINIT_PROBE_URL", `"tcp://app"`, "tcp://host:port"}},
		{"env probe-url tcp without port", nil, map[string]string{"CRINIT_PROBE_URL": "tcp://app"}, []string{"--probe-url", "CRINIT_PROBE_URL", `"tcp://app"`, "tcp://host:port"}},
		{"probe-url no scheme", []string{"--probe-url=localhost:3000"}, nil, []string{"--probe-url", "CRINIT_PROBE_URL", `"localhost:3000"`}},
		{"env probe-url no scheme", nil, map[string]string{"CRINIT_PROBE_URL": "localhost:3000"}, []string{"--probe-url", "CRINIT_PROBE_URL", `"localhost:3000"`}},
		{"probe-interval 0s", []string{"--probe-interval=0s"}, nil, []string{"--probe-interval", "CRINIT_PROBE_INTERVAL", `"0s"`, "at least 100ms"}},
		{"env probe-interval 0s", nil, map[string]string{"CRINIT_PROBE_INTERVAL": "0s"}, []string{"--probe-interval", "CRINIT_PROBE_INTERVAL", `"0s"`, "at least 100ms"}},
		{"probe-interval -1s", []string{"--probe-interval=-1s"}, nil, []string{"--probe-interval", "CRINIT_PROBE_INTERVAL", `"-1s"`, "negative"}},
		{"env probe-interval -1s", nil, map[string]string{"CRINIT_PROBE_INTERVAL": "-1s"}, []string{"--probe-interval", "CRINIT_PROBE_INTERVAL", `"-1s"`, "negative"}},
		{"probe-interval 30", []string{"--probe-interval=30"}, nil, []string{"--probe-interval", "CRINIT_PROBE_INTERVAL", `"30"`}},
		{"env probe-interval 30", nil, map[string]string{"CRINIT_PROBE_INTERVAL": "30"}, []string{"--probe-interval", "CRINIT_PROBE_INTERVAL", `"30"`}},
		{"probe-start-interval 0s", []string{"--probe-start-interval=0s"}, nil, []string{"--probe-start-interval", "CRINIT_PROBE_START_INTERVAL", `"0s"`, "at least 100ms"}},
		{"env probe-start-interval 0s", nil, map[string]string{"CRINIT_PROBE_START_INTERVAL": "0s"}, []string{"--probe-start-interval", "CRINIT_PROBE_START_INTERVAL", `"0s"`, "at least 100ms"}},
		{"probe-start-interval -1s", []string{"--probe-start-interval=-1s"}, nil, []string{"--probe-start-interval", "CRINIT_PROBE_START_INTERVAL", `"-1s"`, "negative"}},
		{"env probe-start-interval -1s", nil, map[string]string{"CRINIT_PROBE_START_INTERVAL": "-1s"}, []string{"--probe-start-interval", "CRINIT_PROBE_START_INTERVAL", `"-1s"`, "negative"}},
		{"probe-timeout 0s", []string{"--probe-timeout=0s"}, nil, []string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"0s"`, "above 0"}},
		{"env probe-timeout 0s", nil, map[string]string{"CRINIT_PROBE_TIMEOUT": "0s"}, []string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"0s"`, "above 0"}},
		{"probe-timeout slow", []string{"--probe-timeout=slow"}, nil, []string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"slow"`}},
		{"env probe-timeout slow", nil, map[string]string{"CRINIT_PROBE_TIMEOUT": "slow"}, []string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"slow"`}},
		{"probe-timeout over probe-interval", []string{"--probe-url", "http://127.0.0.1:3000/", "--probe-interval", "5s", "--probe-timeout", "6s"}, nil,
			[]string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"6s"`, "--probe-interval (5s)"}},
		{"env probe-timeout over probe-interval", nil, map[string]string{"CRINIT_PROBE_URL": "tcp://127.0.0.1:3000", "CRINIT_PROBE_INTERVAL": "5s", "CRINIT_PROBE_TIMEOUT": "6s"},
			[]string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"6s"`, "--probe-interval (5s)"}},
		{"probe-interval under the default timeout", []string{"--probe-url", "http://127.0.0.1:3000/", "--probe-interval", "5s"}, nil,
			[]string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"10s"`, "--probe-interval (5s)"}},
		{"probe-timeout over the default interval", []string{"--probe-url", "http://127.0.0.1:3000/", "--probe-timeout", "1m"}, nil,
			[]string{"--probe-timeout", "CRINIT_PROBE_TIMEOUT", `"1m"`, "--probe-interval (30s)"}},
		{"probe-retries 0", []string{"--probe-retries=0"}, nil, []string{"--probe-retries", "CRINIT_PROBE_RETRIES", `"0"`, "1 or more"}},
		{"env probe-retries 0", nil, map[string]string{"CRINIT_PROBE_RETRIES": "0"}, []string{"--probe-retries", "CRINIT_PROBE_RETRIES", `"0"`, "1 or more"}},
		{"probe-retries -1", []string{"--probe-retries=-1"}, nil, []string{"--probe-retries", "CRINIT_PROBE_RETRIES", `"-1"`}},
		{"env probe-retries -1", nil, map[string]string{"CRINIT_PROBE_RETRIES": "-1"}, []string{"--probe-retries", "CRINIT_PROBE_RETRIES", `"-1"`}},
		{"probe-retries many", []string{"--probe-retries=many"}, nil, []string{"--probe-retries", "CRINIT_PROBE_RETRIES", `"many"`}},
		{"env probe-retries many", nil, map[string]string{"CRINIT_PROBE_RETRIES": "many"}, []string{"--probe-retries", "CRINIT_PROBE_RETRIES", `"many"`}},
		{"probe-start-period -1s", []string{"--probe-start-period=-1s"}, nil, []string{"--probe-start-period", "CRINIT_PROBE_START_PERIOD", `"-1s"`, "negative"}},
		{"env probe-start-period -1s", nil, map[string]string{"CRINIT_PROBE_START_PERIOD": "-1s"}, []string{"--probe-start-period", "CRINIT_PROBE_START_PERIOD", `"-1s"`, "negative"}},
		{"probe-start-period x", []string{"--probe-start-period=x"}, nil, []string{"--probe-start-period", "CRINIT_PROBE_START_PERIOD", `"x"`}},
		{"env probe-start-period x", nil, map[string]string{"CRINIT_PROBE_START_PERIOD": "x"}, []string{"--probe-start-period", "CRINIT_PROBE_START_PERIOD", `"x"`}},
		{"health-addr nope", []string{"--health-addr=nope"}, nil, []string{"--health-addr", "CRINIT_HEALTH_ADDR", `"nope"`, "host:port"}},
		{"env health-addr nope", nil, map[string]string{"CRINIT_HEALTH_ADDR": "nope"}, []string{"--health-addr", "CRINIT_HEALTH_ADDR", `"nope"`, "host:port"}},
		{"health-addr port only", []string{"--health-addr=9753"}, nil, []string{"--health-addr", "CRINIT_HEALTH_ADDR", `"9753"`, "host:port"}},
		{"env health-addr port only", nil, map[string]string{"CRINIT_HEALTH_ADDR": "9753"}, []string{"--health-addr", "CRINIT_HEALTH_ADDR", `"9753"`, "host:port"}},
		{"drain-delay -1s", []string{"--drain-delay=-1s"}, nil, []string{"--drain-delay", "CRINIT_DRAIN_DELAY", `"-1s"`, "negative"}},
		{"env drain-delay -1s", nil, map[string]string{"CRINIT_DRAIN_DELAY": "-1s"}, []string{"--drain-delay", "CRINIT_DRAIN_DELAY", `"-1s"`, "negative"}},
		{"drain-delay x", []string{"--drain-delay=x"}, nil, []string{"--drain-delay", "CRINIT_DRAIN_DELAY", `"x"`}},
		{"env drain-delay x", nil, map[string]string{"CRINIT_DRAIN_DELAY": "x"}, []string{"--drain-delay", "CRINIT_DRAIN_DELAY", `"x"`}},
		{"status-show-argv maybe", []string{"--status-show-argv=maybe"}, nil, []string{"--status-show-argv", "CRINIT_STATUS_SHOW_ARGV", `"maybe"`, "true or false"}},
		{"env status-show-argv maybe", nil, map[string]string{"CRINIT_STATUS_SHOW_ARGV": "maybe"}, []string{"--status-show-argv", "CRINIT_STATUS_SHOW_ARGV", `"maybe"`, "true or false"}},

		{"unknown flag", []string{"--bogus", "1"}, nil, []string{"bogus"}},
		{"flag without value", []string{"--nofile"}, nil, []string{"nofile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := runApp(t, append(tt.args, "--", "node", "server.js")...)
			invalidRun(t, r, tt.want...)
		})
	}
}

func TestApp_InvalidCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no arguments", nil, []string{"missing COMMAND"}},
		{"only flags", []string{"--nofile", "10"}, []string{"missing COMMAND"}},
		{"nothing after --", []string{"--"}, []string{"missing COMMAND"}},
		{"empty command after --", []string{"--", ""}, []string{"missing COMMAND"}},
		{"argument before --", []string{"node", "--", "server.js"}, []string{`unexpected argument "node"`, `"--"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			invalidRun(t, runApp(t, tt.args...), tt.want...)
		})
	}
}

// invalidRun checks that r failed with an error naming each of want, and
// that nothing was supervised.
func invalidRun(t *testing.T, r result, want ...string) {
	t.Helper()
	if len(r.calls) != 0 {
		t.Errorf("supervise called with %+v", r.calls)
	}
	if r.err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(r.err.Error(), w) {
			t.Errorf("error %q does not name %s", r.err, w)
		}
	}
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("output: stdout %q, stderr %q; want the error alone", r.stdout, r.stderr)
	}
}

// TestRun_ExitStatus drives run itself, real supervise included: every case
// fails before supervise or never reaches it, so nothing is started. The
// command does not exist, so that a case that wrongly got through would
// fail to start (127) rather than run something.
func TestRun_ExitStatus(t *testing.T) {
	const missing = "/nonexistent/crinit-test-command"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string // prefix
	}{
		{"bad nofile", []string{"--nofile", "abc", "--", missing}, exitUsage, "", `crinit: invalid --nofile (CRINIT_NOFILE) "abc": `},
		{"bad heap", []string{"--nofile", "0", "--max-old-space-size", "lots", "--", missing}, exitUsage, "", `crinit: invalid --max-old-space-size (CRINIT_MAX_OLD_SPACE_SIZE) "lots": `},
		{"bad log level", []string{"--nofile", "0", "--log-level", "loud", "--", missing}, exitUsage, "", `crinit: invalid --log-level (CRINIT_LOG_LEVEL) "loud": `},
		{"unknown flag", []string{"--bogus", "--", missing}, exitUsage, "", "crinit: flag provided but not defined: -bogus"},
		{"missing command", nil, exitUsage, "", "crinit: missing COMMAND"},
		{"argument before --", []string{"--nofile", "0", missing, "--", missing}, exitUsage, "", `crinit: unexpected argument "` + missing + `"`},
		{"version command", []string{"version"}, 0, "crinit version dev\n", ""},
		{"version flag", []string{"--version"}, 0, "crinit version dev\n", ""},
		{"version before --", []string{"version", "--", missing}, 0, "crinit version dev\n", ""},
		{"version with a flag", []string{"version", "--bogus"}, exitUsage, "", "crinit: flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			var stdout, stderr strings.Builder
			code := run(append([]string{"crinit"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d", code, tt.wantCode)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if !strings.HasPrefix(stderr.String(), tt.wantStderr) || (tt.wantStderr == "") != (stderr.Len() == 0) {
				t.Errorf("stderr = %q, want it to start with %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantStderr != "" && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr = %q, want one line", stderr.String())
			}
		})
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantFlags   []string
		wantCommand []string
	}{
		{"no --", []string{"crinit", "--nofile", "1", "node"}, []string{"crinit", "--nofile", "1", "node"}, nil},
		{"-- at the end", []string{"crinit", "--"}, []string{"crinit"}, []string{}},
		{"command", []string{"crinit", "--nofile", "1", "--", "node", "x.js"}, []string{"crinit", "--nofile", "1"}, []string{"node", "x.js"}},
		{"cut at the first --", []string{"crinit", "--", "node", "--", "--x"}, []string{"crinit"}, []string{"node", "--", "--x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := slices.Clone(tt.args)
			flags, command := splitCommand(args)
			if !slices.Equal(flags, tt.wantFlags) {
				t.Errorf("flags = %q, want %q", flags, tt.wantFlags)
			}
			if !slices.Equal(command, tt.wantCommand) || (command == nil) != (tt.wantCommand == nil) {
				t.Errorf("command = %#v, want %#v", command, tt.wantCommand)
			}
			if len(command) > 0 {
				command[0] = "changed"
				if !slices.Equal(args, tt.args) {
					t.Errorf("command shares memory with args: %q", args)
				}
			}
		})
	}
}
