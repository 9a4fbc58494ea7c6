package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/supervisor"
)

// exitUsage is crinit's exit status for bad flags, environment or limits:
// the child was never started.
const exitUsage = 2

// options is the validated configuration of one crinit run.
type options struct {
	argv           []string
	nofile         uint64 // 0: leave RLIMIT_NOFILE as inherited
	heapMiB        uint64 // 0: do not set node's heap limit
	forwardTo      supervisor.ForwardTarget
	stopTimeout    time.Duration
	remnantTimeout time.Duration
	logFormat      string
	logLevel       hclog.Level
}

// Flag names; each has the environment variable envName(name).
const (
	flagNofile         = "nofile"
	flagHeap           = "max-old-space-size"
	flagForwardTo      = "forward-to"
	flagStopTimeout    = "stop-timeout"
	flagRemnantTimeout = "remnant-timeout"
	flagLogFormat      = "log-format"
	flagLogLevel       = "log-level"
)

// envName is the environment variable that sets flag: CRINIT_FLAG_NAME.
func envName(flag string) string {
	return "CRINIT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// stringFlag declares a flag that crinit parses itself, so that every bad
// value, from the command line or the environment, gets the same message.
func stringFlag(name, value, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Value: value, Usage: usage, EnvVars: []string{envName(name)}}
}

// newApp builds the CLI. command is what followed "--" (nil when there was
// none); supervise runs a validated configuration.
func newApp(stdout, stderr io.Writer, command []string, supervise func(options) int) *cli.App {
	return &cli.App{
		Name:      "crinit",
		Usage:     "run one Node.js service as a container's PID 1, bounded and observable",
		UsageText: "crinit [flags] -- COMMAND [ARGS...]\ncrinit version",
		Version:   version,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			stringFlag(flagNofile, "8192", "RLIMIT_NOFILE (soft and hard) for the child; 0 keeps the inherited limit"),
			stringFlag(flagHeap, "256", "node's V8 old-space limit in MiB (a bare number) or a size such as 256MiB; 0 disables"),
			stringFlag(flagForwardTo, string(supervisor.ForwardGroup), "who receives forwarded signals: group (the child's process group) or child"),
			stringFlag(flagStopTimeout, "8s", "on SIGTERM, SIGINT or SIGQUIT, how long to wait for the child before SIGKILL"),
			stringFlag(flagRemnantTimeout, "2s", "after the child exits, how long leftover processes get between SIGTERM and SIGKILL"),
			stringFlag(flagLogFormat, "json", "log format: json or text"),
			stringFlag(flagLogLevel, "info", "log level: trace, debug, info, warn or error"),
		},
		Commands: []*cli.Command{{
			Name:  "version",
			Usage: "print crinit's version",
			Action: func(c *cli.Context) error {
				fmt.Fprintf(stdout, "crinit version %s\n", version)
				return nil
			},
		}},
		HideHelpCommand: true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return err
		},
		Action: func(c *cli.Context) error {
			o, err := parseOptions(c, command)
			if err != nil {
				return err
			}
			supervise(o)
			return nil
		},
	}
}

// invalid is the one-line error for a bad value of flag.
func invalid(flag, value string, err error) error {
	return fmt.Errorf("invalid --%s (%s) %q: %w", flag, envName(flag), value, err)
}

// parseOptions validates every flag and the command line.
func parseOptions(c *cli.Context, command []string) (options, error) {
	o := options{argv: c.Args().Slice()}
	if command != nil {
		if len(o.argv) > 0 {
			return o, fmt.Errorf("unexpected argument %q before \"--\": usage: crinit [flags] -- COMMAND [ARGS...]", o.argv[0])
		}
		o.argv = command
	}
	if len(o.argv) == 0 || o.argv[0] == "" {
		return o, errors.New("missing COMMAND: usage: crinit [flags] -- COMMAND [ARGS...]")
	}
	var err error
	if o.nofile, err = parseCount(c.String(flagNofile)); err != nil {
		return o, invalid(flagNofile, c.String(flagNofile), err)
	}
	if o.heapMiB, err = parseHeapMiB(c.String(flagHeap)); err != nil {
		return o, invalid(flagHeap, c.String(flagHeap), err)
	}
	if o.forwardTo, err = supervisor.ParseForwardTarget(c.String(flagForwardTo)); err != nil {
		return o, invalid(flagForwardTo, c.String(flagForwardTo), err)
	}
	if o.stopTimeout, err = parseDuration(c.String(flagStopTimeout)); err != nil {
		return o, invalid(flagStopTimeout, c.String(flagStopTimeout), err)
	}
	if o.remnantTimeout, err = parseDuration(c.String(flagRemnantTimeout)); err != nil {
		return o, invalid(flagRemnantTimeout, c.String(flagRemnantTimeout), err)
	}
	switch o.logFormat = c.String(flagLogFormat); o.logFormat {
	case "json", "text":
	default:
		return o, invalid(flagLogFormat, o.logFormat, errors.New("want json or text"))
	}
	lvl := c.String(flagLogLevel)
	if o.logLevel = hclog.LevelFromString(lvl); o.logLevel == hclog.NoLevel || o.logLevel == hclog.Off {
		return o, invalid(flagLogLevel, lvl, errors.New("want trace, debug, info, warn or error"))
	}
	return o, nil
}

// parseCount reads a non-negative whole number.
func parseCount(s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, errors.New("want a whole number, 0 or more")
	}
	return n, nil
}

// parseHeapMiB reads node's heap size: a bare number is MiB, as node takes
// it; a value with a unit is a size, which must be a whole number of MiB.
func parseHeapMiB(s string) (uint64, error) {
	if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
		return n, nil
	}
	size, err := limits.ParseSize(s)
	if err != nil {
		return 0, err
	}
	if size%limits.MiB != 0 {
		return 0, errors.New("must be a whole number of MiB")
	}
	return uint64(size / limits.MiB), nil
}

// parseDuration reads a Go duration such as 10s or 1m30s, 0 or more.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("want a duration such as 500ms, 10s or 1m")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// supervise applies the limits and runs the child; it returns crinit's
// exit status.
func supervise(o options, stdout io.Writer) int {
	log := hclog.New(&hclog.LoggerOptions{
		Name:       "crinit",
		Level:      o.logLevel,
		Output:     stdout,
		JSONFormat: o.logFormat == "json",
		TimeFormat: time.RFC3339Nano,
	})
	argv, env, heap := limits.NodeHeap(o.argv, os.Environ(), o.heapMiB)
	switch heap {
	case limits.HeapUserArgv, limits.HeapUserEnv:
		log.Info("user's heap flag kept", "flag", limits.HeapFlag, "found_in", string(heap), "ignored_mib", o.heapMiB)
	}
	if o.nofile > 0 {
		before, err := limits.SetNofile(o.nofile)
		if err != nil {
			log.Error("limit not applied", "flag", "--"+flagNofile, "value", o.nofile, "error", err)
			return exitUsage
		}
		log.Debug("nofile set", "before_soft", before.Cur, "before_hard", before.Max, "nofile", o.nofile)
	}
	log.Info("limits applied", "nofile", o.nofile, "max_old_space_size_mib", o.heapMiB, "heap_flag", string(heap))
	return supervisor.New(supervisor.Config{
		Argv:           argv,
		Env:            env,
		ForwardTo:      o.forwardTo,
		StopTimeout:    o.stopTimeout,
		RemnantTimeout: o.remnantTimeout,
	}, log.Named("supervisor")).Run()
}
