package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/crinit/crinit/supervisor"
)

// exitUsage is crinit's exit status for bad flags, environment or limits:
// the child was never started.
const exitUsage = supervisor.ExitUsage

// envName is the environment variable that sets flag: CRINIT_FLAG_NAME.
func envName(flag string) string {
	return "CRINIT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

const (
	appUsage  = "run one Node.js service as a container's PID 1, bounded and observable"
	appSyntax = "crinit [flags] -- COMMAND [ARGS...]\ncrinit health [--addr HOST:PORT] [--timeout DURATION]\ncrinit version"
)

// app is crinit's command line: the supervisor's flags, `health` and
// `version`.
type app struct {
	stdout, stderr io.Writer
	command        []string // what followed "--"; nil when there was none
	supervise      func(options) int
}

// newApp builds the CLI. command is what followed "--" (nil when there was
// none); supervise runs a validated configuration.
func newApp(stdout, stderr io.Writer, command []string, supervise func(options) int) *app {
	return &app{stdout: stdout, stderr: stderr, command: command, supervise: supervise}
}

// Run runs the command line args (args[0] is the program's name). A usage
// error is returned for the caller to print; a child's non-zero status is
// an *exitError with no message.
func (a *app) Run(args []string) error {
	var showVersion bool
	fs, values := flagSet(flagSpecs, envName)
	fs.BoolVar(&showVersion, "version", false, "")
	fs.BoolVar(&showVersion, "v", false, "")
	if err := fs.Parse(args[min(1, len(args)):]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.help()
			return nil
		}
		return err
	}
	rest := fs.Args()
	switch {
	case len(rest) > 0 && rest[0] == "version":
		return a.version(rest[1:])
	case len(rest) > 0 && rest[0] == "health":
		return health(a.stdout, rest[1:])
	case showVersion:
		return a.version(nil)
	}
	o, err := parseOptions(values(), rest, a.command)
	if err != nil {
		return err
	}
	if code := a.supervise(o); code != 0 {
		return &exitError{code: code} // the child's status: nothing to print
	}
	return nil
}

// version is `crinit version`, which takes no flags but --help.
func (a *app) version(args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(a.stdout, "NAME:\n   crinit version - print crinit's version\n\nUSAGE:\n   crinit version\n")
			return nil
		}
		return err
	}
	fmt.Fprintf(a.stdout, "crinit version %s\n", version)
	return nil
}

// flagSet is a FlagSet of specs (stdlib flag: -x, --x, -x=v, --x v) and a
// function that, after Parse, gives each flag's value: the command line's
// (a repeatable flag's values joined with commas), else its variable's
// (env names it; "": none), else its default.
func flagSet(specs []flagSpec, env func(flag string) string) (*flag.FlagSet, func() map[string]string) {
	fs := flag.NewFlagSet("crinit", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help is printed by the caller
	given := make(map[string]*repeated, len(specs))
	for _, f := range specs {
		r := &repeated{many: repeatable[f.name]}
		given[f.name] = r
		fs.Var(r, f.name, f.usage)
	}
	return fs, func() map[string]string {
		values := make(map[string]string, len(specs))
		for _, f := range specs {
			v, fromEnv := "", false
			if name := env(f.name); name != "" {
				v, fromEnv = os.LookupEnv(name)
			}
			switch {
			case given[f.name].set:
				values[f.name] = strings.Join(given[f.name].values, ",")
			case fromEnv:
				values[f.name] = v
			default:
				values[f.name] = f.value
			}
		}
		return values
	}
}

// repeated is a flag's values on the command line: the last one, or every
// one for a repeatable flag.
type repeated struct {
	many   bool
	set    bool
	values []string
}

func (r *repeated) String() string { return strings.Join(r.values, ",") }

func (r *repeated) Set(v string) error {
	if !r.many {
		r.values = r.values[:0]
	}
	r.values, r.set = append(r.values, v), true
	return nil
}

// help prints the usage, every flag with its default and variable.
func (a *app) help() {
	fmt.Fprintf(a.stdout, "NAME:\n   crinit - %s\n\nUSAGE:\n   %s\n\nVERSION:\n   %s\n\n",
		appUsage, strings.ReplaceAll(appSyntax, "\n", "\n   "), version)
	fmt.Fprintf(a.stdout, "COMMANDS:\n   health   %s\n   version  print crinit's version\n\n", healthUsage)
	printFlags(a.stdout, flagSpecs, envName)
	fmt.Fprintf(a.stdout, "   --help, -h     show help\n   --version, -v  print the version\n")
}

// printFlags lists specs as help does: name, usage, default, variable.
func printFlags(out io.Writer, specs []flagSpec, env func(flag string) string) {
	fmt.Fprintf(out, "FLAGS:\n")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	for _, f := range specs {
		fmt.Fprintf(w, "   --%s value\t%s", f.name, f.usage)
		if f.value != "" {
			fmt.Fprintf(w, " (default: %q)", f.value)
		}
		if name := env(f.name); name != "" {
			fmt.Fprintf(w, " [$%s]", name)
		}
		fmt.Fprintln(w)
	}
}

// invalid is the one-line error for a bad value of flag.
func invalid(flag, value string, err error) error {
	return fmt.Errorf("invalid --%s (%s) %q: %w", flag, envName(flag), value, err)
}

// parseOptions validates every flag's value and the command line: args is
// what came before "--", command what came after it (nil: no "--").
func parseOptions(values map[string]string, args, command []string) (options, error) {
	o := options{argv: args}
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
		if err := f.parse(&o, values[f.name]); err != nil {
			return o, invalid(f.name, values[f.name], err)
		}
	}
	if o.probeURL != nil && o.probeTimeout > o.probeInterval {
		return o, invalid("probe-timeout", values["probe-timeout"],
			fmt.Errorf("must not exceed --probe-interval (%s)", o.probeInterval))
	}
	if o.rssWarn.Percent == 0 && o.rssLimit > 0 && o.rssWarn.Amount > o.rssLimit {
		return o, invalid("rss-warn", values["rss-warn"],
			fmt.Errorf("must not exceed --rss-limit (%d bytes)", o.rssLimit))
	}
	if o.fdWarn.Percent > 0 && o.fdLimit.Percent > 0 && o.fdWarn.Percent > o.fdLimit.Percent ||
		o.fdWarn.Amount > 0 && o.fdLimit.Amount > 0 && o.fdWarn.Amount > o.fdLimit.Amount {
		return o, invalid("fd-warn", values["fd-warn"], fmt.Errorf("must not exceed --fd-limit (%s)", o.fdLimit))
	}
	if o.restart.DelayMax < o.restart.Delay {
		return o, invalid("restart-delay-max", values["restart-delay-max"],
			fmt.Errorf("must not be below --restart-delay (%s)", o.restart.Delay))
	}
	return o, nil
}
