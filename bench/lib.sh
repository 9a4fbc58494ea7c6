# bench/lib.sh: helpers shared by the bench scripts. Sourced, not run.
#
# A script sets NAME (for messages) and sources this file; it gets ROOT,
# a private TMP (removed on exit), traps that end whatever the script
# started, and these helpers:
#
#   log, die                 progress and errors on stderr, off the report
#   apt_install PKG...       quiet apt-get install (one apt-get update first)
#   crinit_bin               $CRINIT, or crinit built from this tree into TMP
#   go_helper DIR            build bench/DIR/main.go into TMP, print its path
#   ns_start LOG CMD...      run CMD as PID 1 of a new PID namespace, output to
#                            LOG: sets UPID (unshare) and INIT (its host PID)
#   ns_stop                  end that namespace, all of it
#   kids PID                 the children of every thread of PID
#   stats                    numbers on stdin -> "min median max p99 count"
#   ratio A B                A/B as "1.23×", "n/a" when B is 0 or missing
#   pm2_runtime              $PM2_RUNTIME, or pm2-runtime installed into TMP
#
# Every script prints its Markdown section on stdout. When RESULTS names a
# file, it also appends "key value" lines there for run.sh's pass/fail table.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/crinit-$NAME.XXXXXX")
UPID="" INIT=""   # the namespace in progress, if any
EXTRA_PIDS=()     # other background jobs to kill on exit (pollers)
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

log() { printf '%s\n' "$*" >&2; }
die() { log "$NAME.sh: $*"; exit 1; }

# ns_stop: SIGKILL to the init ends the whole namespace (the kernel kills
# every process in it); unshare, its parent, reaps it and exits, and is
# reaped here. Without a known init, SIGKILL to unshare: --kill-child takes
# the init along.
ns_stop() {
	if [[ -n $INIT ]]; then kill -KILL "$INIT" 2>/dev/null || true
	elif [[ -n $UPID ]]; then kill -KILL "$UPID" 2>/dev/null || true; fi
	[[ -z $UPID ]] || wait "$UPID" 2>/dev/null || true
	UPID="" INIT=""
}
cleanup() {
	local p
	for p in "${EXTRA_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	ns_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

apt_install() {
	log "installing $*..."
	{ [[ -n ${APT_UPDATED:-} ]] || { apt-get update -qq && APT_UPDATED=1; }; } >>"$TMP/apt.log" 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$TMP/apt.log" 2>&1 ||
		{ cat "$TMP/apt.log" >&2; return 1; }
}

# crinit_bin: the binary under test. run.sh builds it once and passes it in
# CRINIT; a script run alone builds its own.
crinit_bin() {
	if [[ -n ${CRINIT:-} ]]; then echo "$CRINIT"; return; fi
	log "building crinit..."
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$TMP/crinit" ./cmd/crinit) >&2
	echo "$TMP/crinit"
}

# go_helper DIR: bench/DIR/main.go is a main package kept out of the module's
# packages by an ignore build tag; naming the file builds it all the same.
go_helper() {
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$TMP/$1" "bench/$1/main.go") >&2
	echo "$TMP/$1"
}

# kids PID: the children of every thread of PID (Go forks from any thread).
# shellcheck disable=SC2046,SC2005 # echo joins the threads' lists into one line
kids() { echo $(cat /proc/"$1"/task/*/children 2>/dev/null || true); }
# ns_start LOG CMD...: CMD (the init, then its arguments) as PID 1 of a new
# PID namespace with its own /proc; its output to LOG (appended).
ns_start() {
	local out=$1
	shift
	unshare --pid --fork --mount-proc --kill-child "$@" </dev/null >>"$out" 2>&1 &
	UPID=$!
	local i k
	for ((i = 0; i < 1000; i++)); do   # unshare's one child, once it has exec'd
		k=$(kids "$UPID")
		if [[ -n $k && $(cat /proc/"$k"/comm 2>/dev/null || echo unshare) != unshare ]]; then INIT=$k; return; fi
		kill -0 "$UPID" 2>/dev/null || break
		sleep 0.01
	done
	tail -n 20 "$out" >&2
	die "$1 did not start"
}

# stats: numbers on stdin, one a line -> "min median max p99 count".
# Median: the mean of the two middle values when the count is even; p99: the
# nearest-rank 99th percentile.
stats() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - - 0"; exit }
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			r = int(0.99 * NR + 0.999999); if (r < 1) r = 1
			print v[1], med, v[NR], v[r], NR
		}'
}

# ratio A B: A/B, two decimals and a ×.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-" || b == "-") print "n/a"; else printf "%.2f×\n", a / b }'; }

# result KEY VALUE: one figure for run.sh's pass/fail table.
result() { [[ -z ${RESULTS:-} ]] || echo "$1 $2" >>"$RESULTS"; }

# pm2_runtime: the pm2-runtime to use: $PM2_RUNTIME, or pm2 from npm
# installed into TMP. Fails when npm cannot install it, or PM2_RUNTIME=none.
pm2_runtime() {
	[[ ${PM2_RUNTIME:-} != none ]] || return 1   # run.sh could not install it
	if [[ -n ${PM2_RUNTIME:-} ]]; then echo "$PM2_RUNTIME"; return; fi
	command -v npm >/dev/null || { log "npm is missing"; return 1; }
	log "installing pm2 into $TMP/pm2..."
	# From inside the prefix, with a package.json there: npm 11 fails without
	# one, and would take a ./pm2 folder in the working directory for the package.
	mkdir -p "$TMP/pm2" && echo '{"private": true}' >"$TMP/pm2/package.json"
	(cd "$TMP/pm2" && npm install --prefix "$TMP/pm2" --no-audit --no-fund pm2) >"$TMP/npm.log" 2>&1 ||
		{ cat "$TMP/npm.log" >&2; return 1; }
	echo "$TMP/pm2/node_modules/.bin/pm2-runtime"
}
# pm2 runs in no-daemon mode with its home in TMP; no version check (it
# would go to the network).
export PM2_HOME=$TMP/pm2home PM2_DISABLE_VERSION_CHECK=true
