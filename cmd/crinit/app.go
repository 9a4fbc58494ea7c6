package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/crinit/crinit/supervisor"
)

// exitUsage is crinit's exit status for bad flags, environment or limits:
// the child was never started.
const exitUsage = supervisor.ExitUsage

// envName is the environment variable that sets flag: CRINIT_FLAG_NAME.
func envName(flag string) string {
	return "CRINIT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// newApp builds the CLI. command is what followed "--" (nil when there was
// none); supervise runs a validated configuration.
func newApp(stdout, stderr io.Writer, command []string, supervise func(options) int) *cli.App {
	flags := make([]cli.Flag, len(flagSpecs))
	for i, f := range flagSpecs {
		// crinit parses every value itself, so that a bad one gets the same
		// message from the command line and from the environment.
		if repeatable[f.name] {
			flags[i] = &cli.StringSliceFlag{Name: f.name, Usage: f.usage, EnvVars: []string{envName(f.name)}}
			continue
		}
		flags[i] = &cli.StringFlag{Name: f.name, Value: f.value, Usage: f.usage, EnvVars: []string{envName(f.name)}}
	}
	return &cli.App{
		Name:      "crinit",
		Usage:     "run one Node.js service as a container's PID 1, bounded and observable",
		UsageText: "crinit [flags] -- COMMAND [ARGS...]\ncrinit health [--addr HOST:PORT] [--timeout DURATION]\ncrinit version",
		Version:   version,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags:     flags,
		Commands: []*cli.Command{{
			Name:  "version",
			Usage: "print crinit's version",
			Action: func(c *cli.Context) error {
				fmt.Fprintf(stdout, "crinit version %s\n", version)
				return nil
			},
		}, healthCommand(stdout)},
		HideHelpCommand: true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return err
		},
		Action: func(c *cli.Context) error {
			o, err := parseOptions(c, command)
			if err != nil {
				return err
			}
			if code := supervise(o); code != 0 {
				return &exitError{code: code} // the child's status: nothing to print
			}
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
	for _, f := range flagSpecs {
		v := c.String(f.name)
		if repeatable[f.name] {
			v = strings.Join(c.StringSlice(f.name), ",")
		}
		if err := f.parse(&o, v); err != nil {
			return o, invalid(f.name, v, err)
		}
	}
	if o.probeURL != nil && o.probeTimeout > o.probeInterval {
		return o, invalid("probe-timeout", c.String("probe-timeout"),
			fmt.Errorf("must not exceed --probe-interval (%s)", o.probeInterval))
	}
	if o.rssWarn.Percent == 0 && o.rssLimit > 0 && o.rssWarn.Amount > o.rssLimit {
		return o, invalid("rss-warn", c.String("rss-warn"),
			fmt.Errorf("must not exceed --rss-limit (%d bytes)", o.rssLimit))
	}
	if o.fdWarn.Percent > 0 && o.fdLimit.Percent > 0 && o.fdWarn.Percent > o.fdLimit.Percent ||
		o.fdWarn.Amount > 0 && o.fdLimit.Amount > 0 && o.fdWarn.Amount > o.fdLimit.Amount {
		return o, invalid("fd-warn", c.String("fd-warn"), fmt.Errorf("must not exceed --fd-limit (%s)", o.fdLimit))
	}
	if o.restart.DelayMax < o.restart.Delay {
		return o, invalid("restart-delay-max", c.String("restart-delay-max"),
			fmt.Errorf("must not be below --restart-delay (%s)", o.restart.Delay))
	}
	return o, nil
}
