// Command crinit runs one Node.js service as PID 1 of a container: it sets
// its limits, forwards signals, reaps zombies and passes on its exit status.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	if len(os.Args) > 2 && os.Args[1] == shimArg {
		os.Exit(execShim(os.Args[2], os.Args[3:]))
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main without the exit, so that tests can drive the whole CLI.
func run(args []string, stdout, stderr io.Writer) int {
	flags, command := splitCommand(args)
	app := newApp(stdout, stderr, command, func(o options) int { return supervise(o, stdout) })
	if err := app.Run(flags); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(stderr, ee.msg)
			}
			return ee.code
		}
		fmt.Fprintf(stderr, "crinit: %v\n", err)
		return exitUsage
	}
	return 0
}

// splitCommand cuts args at the first "--": what comes after it is COMMAND
// and its arguments, passed on untouched even where they look like flags or
// name one of crinit's own commands. command is nil when there is no "--".
func splitCommand(args []string) (flags, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], append([]string{}, args[i+1:]...)
		}
	}
	return args, nil
}
