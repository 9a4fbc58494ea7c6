package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCode_Propagated(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		argv    []string
		code    int
		message string // crinit's event that explains the exit
	}{
		{"zero", []string{"sh", "-c", "exit 0"}, 0, "child exited"},
		{"three", []string{"sh", "-c", "exit 3"}, 3, "child exited"},
		{"sigkill", []string{"sh", "-c", "kill -KILL $$"}, 128 + 9, "child exited"},
		{"sigsegv", []string{"sh", "-c", "kill -SEGV $$"}, 128 + 11, "child exited"},
		{"not found", []string{"no-such-command-crinit"}, 127, "child not started"},
		{"not found path", []string{"/no/such/dir/cmd"}, 127, "child not started"},
		{"not executable", []string{notExec}, 126, "child not started"},
		{"directory", []string{"/tmp"}, 126, "child not started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCrinit(t, runOpts{ns: true}, append([]string{"--restart", "never", "--"}, tc.argv...)...)
			e := c.waitEvent(tc.message)
			if got := e.num("exit_code"); got != tc.code {
				t.Errorf("event %q exit_code = %d, want %d", tc.message, got, tc.code)
			}
			if got := c.wait(); got != tc.code {
				t.Errorf("crinit exit code = %d, want %d", got, tc.code)
			}
		})
	}
}

func TestExitCode_SignalNamed(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true}, "--restart", "never", "--", "sh", "-c", "kill -TERM $$")
	e := c.waitEvent("child exited")
	if e.str("signal") != "SIGTERM" || e.num("exit_code") != 143 {
		t.Errorf("child exited event = %v, want signal SIGTERM and exit_code 143", e)
	}
	if got := c.wait(); got != 143 {
		t.Errorf("exit code = %d, want 143", got)
	}
}

func TestPassthrough_ArgvAndEnv(t *testing.T) {
	c := startCrinit(t, runOpts{ns: true, env: []string{"CRINIT_TEST_VALUE=a b\tc"}},
		"--", "sh", "-c", `printf 'arg=%s\n' "$@"; printf 'env=%s\n' "$CRINIT_TEST_VALUE"`, "sh",
		"--nofile", "1", "--", "-x", "version", "with space")
	var args []string
	for _, want := range []string{"--nofile", "1", "--", "-x", "version", "with space"} {
		l := c.waitPrefix("arg=")
		args = append(args, strings.TrimPrefix(l, "arg="))
		if args[len(args)-1] != want {
			t.Fatalf("child argv so far %q, want next %q", args, want)
		}
	}
	if l := c.waitPrefix("env="); l != "env=a b\tc" {
		t.Errorf("child env line %q, want %q", l, "env=a b\tc")
	}
	if got := c.wait(); got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
}
