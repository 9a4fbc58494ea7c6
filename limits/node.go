package limits

import (
	"path/filepath"
	"strconv"
	"strings"
)

// HeapFlag is node's option for the V8 old-space limit, in MiB.
const HeapFlag = "--max-old-space-size"

// HeapPlacement says where the heap flag went, or why it did not.
type HeapPlacement string

// The outcomes of NodeHeap.
const (
	HeapDisabled    HeapPlacement = "disabled"     // size 0: nothing added
	HeapArgv        HeapPlacement = "argv"         // inserted as node's first argument
	HeapNodeOptions HeapPlacement = "NODE_OPTIONS" // appended to NODE_OPTIONS
	HeapUserArgv    HeapPlacement = "user_argv"    // the user's own flag in argv wins
	HeapUserEnv     HeapPlacement = "user_env"     // the user's own flag in NODE_OPTIONS wins
)

// nodeValueOptions are node options whose value is the next argument; the
// script is the first argument that is neither an option nor such a value.
var nodeValueOptions = map[string]bool{
	"-e": true, "--eval": true, "-p": true, "--print": true,
	"-r": true, "--require": true, "--import": true, "--loader": true,
	"--experimental-loader": true, "-C": true, "--conditions": true,
	"--title": true, "--input-type": true, "--env-file": true,
	"--inspect-port": true, "--debug-port": true, "--redirect-warnings": true,
	"--icu-data-dir": true, "--openssl-config": true, "--tls-cipher-list": true,
	"--disable-warning": true, "--stack-trace-limit": true,
}

// IsNode reports whether argv0 names node itself.
func IsNode(argv0 string) bool {
	base := filepath.Base(argv0)
	return base == "node" || base == "nodejs"
}

// NodeHeap returns argv and env with node's heap limit set to mib MiB: as
// node's first argument when argv runs node directly, otherwise appended to
// NODE_OPTIONS so node processes started through npm or a shell get it too.
// A flag the user already gave, in node's own options or in NODE_OPTIONS,
// wins. The inputs are not modified.
func NodeHeap(argv, env []string, mib uint64) ([]string, []string, HeapPlacement) {
	if mib == 0 || len(argv) == 0 {
		return argv, env, HeapDisabled
	}
	flag := HeapFlag + "=" + strconv.FormatUint(mib, 10)
	opts, optsAt := "", -1
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			opts, optsAt = v, i
		}
	}
	if hasHeapFlag(strings.Fields(opts)) {
		return argv, env, HeapUserEnv
	}
	if IsNode(argv[0]) {
		if hasHeapFlag(nodeOptions(argv[1:])) {
			return argv, env, HeapUserArgv
		}
		out := make([]string, 0, len(argv)+1)
		out = append(out, argv[0], flag)
		out = append(out, argv[1:]...)
		return out, env, HeapArgv
	}
	out := append([]string(nil), env...)
	if optsAt < 0 {
		out = append(out, "NODE_OPTIONS="+flag)
	} else {
		out[optsAt] = "NODE_OPTIONS=" + strings.TrimSpace(opts+" "+flag)
	}
	return argv, out, HeapNodeOptions
}

// nodeOptions returns the leading arguments that node reads as its own
// options: everything before the script name or "--".
func nodeOptions(args []string) []string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return args[:i]
		}
		if nodeValueOptions[a] {
			i++
		}
	}
	return args
}

func hasHeapFlag(opts []string) bool {
	for _, o := range opts {
		name, _, _ := strings.Cut(o, "=")
		if strings.ReplaceAll(name, "_", "-") == HeapFlag {
			return true
		}
	}
	return false
}
