package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/crinit/crinit/supervisor"
)

// shimArg, as crinit's first argument, makes it the shim that starts a
// child which is handed held sockets: LISTEN_PID must be the child's own
// pid, which only the forked process knows. The shim sets it and execs
// COMMAND, keeping its pid, descriptors, process group and parent-death
// signal.
const shimArg = "__crinit_exec"

// execShim becomes path with argv, LISTEN_PID set to this process's pid.
// It returns only when exec fails, with the status a shell would give.
func execShim(path string, argv []string) int {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LISTEN_PID=") {
			env = append(env, kv)
		}
	}
	env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	err := syscall.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "crinit: exec %s: %v\n", path, err)
	if errors.Is(err, syscall.ENOENT) {
		return supervisor.ExitNotFound
	}
	return supervisor.ExitNotExecutable
}
