package main

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/limits"
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
		killTimeout:      5 * time.Second,
		rssInterval:      time.Second,
		rssLimit:         300 << 20,
		rssGrace:         2,
		rssWarn:          limits.Threshold{Percent: 80},
		trendHorizon:     10 * time.Minute,
		fdWarn:           limits.Threshold{Percent: 80},
		fdLimit:          limits.Threshold{Percent: 95},
		heapSnapshotKeep: 3,
		oomScoreAdj:      500,
	}
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

func TestApp_Command(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantArgv []string
		set      func(*options)
	}{
		{
			name:     "flags after -- belong to the command",
			args:     []string{"--nofile", "10", "--", "node", "--nofile", "5", "-x", "--", "version"},
			wantArgv: []string{"node", "--nofile", "5", "-x", "--", "version"},
			set:      func(o *options) { o.nofile = 10 },
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
