package limits

import (
	"path/filepath"
	"strconv"
	"strings"
)

// HeapFlag is node's option for the V8 old-space limit, in MiB.
const HeapFlag = "--max-old-space-size"

// Placement says where a node option went, or why it did not.
type Placement string

// The outcomes of NodeFlag and NodeHeap.
const (
	NotPlaced         Placement = "disabled"     // nothing added (heap size 0)
	PlacedArgv        Placement = "argv"         // inserted as node's first argument
	PlacedNodeOptions Placement = "NODE_OPTIONS" // appended to NODE_OPTIONS
	UserArgv          Placement = "user_argv"    // the user's own option in argv wins
	UserEnv           Placement = "user_env"     // the user's own option in NODE_OPTIONS wins
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

// NodeHeap returns argv and env with node's heap limit set to mib MiB
// through NodeFlag; mib 0 changes nothing.
func NodeHeap(argv, env []string, mib uint64) ([]string, []string, Placement) {
	if mib == 0 || len(argv) == 0 {
		return argv, env, NotPlaced
	}
	return NodeFlag(argv, env, HeapFlag, strconv.FormatUint(mib, 10))
}

// NodeFlag returns argv and env with node's option name=value: as node's
// first argument when argv runs node directly, otherwise appended to
// NODE_OPTIONS so node processes started through npm or a shell get it too.
// The option given already by the user, in node's own options or in
// NODE_OPTIONS, wins. The inputs are not modified.
func NodeFlag(argv, env []string, name, value string) ([]string, []string, Placement) {
	if len(argv) == 0 {
		return argv, env, NotPlaced
	}
	flag := name + "=" + value
	opts, optsAt := "", -1
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			opts, optsAt = v, i
		}
	}
	if hasFlag(strings.Fields(opts), name) {
		return argv, env, UserEnv
	}
	if IsNode(argv[0]) {
		if hasFlag(nodeOptions(argv[1:]), name) {
			return argv, env, UserArgv
		}
		out := make([]string, 0, len(argv)+1)
		out = append(out, argv[0], flag)
		out = append(out, argv[1:]...)
		return out, env, PlacedArgv
	}
	out := append([]string(nil), env...)
	if optsAt < 0 {
		out = append(out, "NODE_OPTIONS="+flag)
	} else {
		out[optsAt] = "NODE_OPTIONS=" + strings.TrimSpace(opts+" "+flag)
	}
	return argv, out, PlacedNodeOptions
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

// hasFlag reports whether opts holds node option name; V8 options may be
// spelt with underscores.
func hasFlag(opts []string, name string) bool {
	for _, o := range opts {
		n, _, _ := strings.Cut(o, "=")
		if strings.ReplaceAll(n, "_", "-") == name {
			return true
		}
	}
	return false
}
