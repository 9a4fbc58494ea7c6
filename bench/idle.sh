#!/usr/bin/env bash
# bench/idle.sh: crinit side by side with tini and dumb-init, in one run.
#
# Measures binary size, the idle RSS of the init itself while it supervises
# `sleep 1000` as PID 1 of a new PID namespace, and (with hyperfine) the start
# overhead of `INIT -- true`. Prints a Markdown report to stdout.
#
# Needs root (unshare --pid, apt-get). Environment:
#   RUNS=7    idle-RSS samples per init, taken round-robin
#   SETTLE=2  seconds to let an init settle after its child has started
#   OUT=file  also write the report there
#   CRINIT    crinit binary to measure (default: built from this tree)
#   RESULTS   file to append "key value" results to (see lib.sh)
set -euo pipefail

RUNS=${RUNS:-7}
SETTLE=${SETTLE:-2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/crinit-bench.XXXXXX")
REPORT=$TMP/report.md
UPID="" INIT=""  # host PIDs of the unshare and the init of the run in progress, if any

# stop_run: end the run in progress. SIGKILL goes to the init when it is
# known: its parent unshare then reaps it (and the kernel the whole namespace,
# sleep included) and exits, which leaves no zombie to the host's PID 1.
# Otherwise it goes to unshare, and --kill-child takes the init along.
stop_run() {
	if [[ -n $INIT ]]; then kill -KILL "$INIT" 2>/dev/null || true
	elif [[ -n $UPID ]]; then kill -KILL "$UPID" 2>/dev/null || true; fi
	[[ -z $UPID ]] || wait "$UPID" 2>/dev/null || true
	UPID="" INIT=""
}
cleanup() {
	stop_run
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }                # progress, kept off the report
die() { log "idle.sh: $*"; exit 1; }
out() { printf '%s\n' "$@" >>"$REPORT"; }       # one line of the report

# --- 1. tools: tini, dumb-init (required), hyperfine (optional); build crinit
apt_install() {  # quiet, but shows apt's output if it fails
	log "installing $*..."
	{ [[ -n ${APT_UPDATED:-} ]] || { apt-get update -qq && APT_UPDATED=1; }; } >>"$TMP/apt.log" 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$TMP/apt.log" 2>&1 ||
		{ cat "$TMP/apt.log" >&2; return 1; }
}
for pkg in tini dumb-init; do command -v "$pkg" >/dev/null || apt_install "$pkg"; done
command -v hyperfine >/dev/null || apt_install hyperfine || log "hyperfine not installable"
command -v jq >/dev/null || apt_install jq || log "jq not installable"
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

if [[ -n ${CRINIT:-} ]]; then
	cp "$CRINIT" "$TMP/crinit"   # run.sh's build, under the name the runs look for
else
	log "building crinit..."
	VERSION=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo dev)
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" \
		-o "$TMP/crinit" ./cmd/crinit)
fi
result() { [[ -z ${RESULTS:-} ]] || echo "$1 $2" >>"$RESULTS"; }

# The inits to compare, in round-robin order; tini is the reference.
declare -A BIN=([crinit]=$TMP/crinit [tini]=/usr/bin/tini [tini-static]=/usr/bin/tini-static [dumb-init]=/usr/bin/dumb-init)
NAMES=(crinit tini dumb-init)
[[ -x ${BIN[tini-static]} ]] && NAMES=(crinit tini tini-static dumb-init)

out "# Idle footprint: crinit vs tini vs dumb-init" "" \
	"$(date -u '+%F %T UTC') · kernel $(uname -r) · $(go version | cut -d' ' -f3-) · $("$TMP/crinit" version) · $(tini --version) · $(dumb-init --version 2>&1)" \
	"" "_$(nproc) CPUs · RUNS=$RUNS · SETTLE=${SETTLE}s_" ""

# --- 2. binary sizes
out "## Binary size" "" "| init | path | bytes | KiB | linkage | size / tini |" "|---|---|--:|--:|---|--:|"
for n in "${NAMES[@]}"; do
	b=${BIN[$n]} && sz=$(stat -c %s "$b")
	link=dynamic && { ldd "$b" 2>&1 || true; } | grep -q 'not a dynamic executable' && link=static
	[[ $n == crinit ]] && b="(built: CGO_ENABLED=0, -trimpath, -s -w)"
	out "| $n | $b | $sz | $((sz / 1024)) | $link | $(awk -v a="$sz" -v b="$(stat -c %s "${BIN[tini]}")" 'BEGIN { printf "%.1f×", a / b }') |"
	result "idle.size_bytes.$n" "$sz"
done

# --- 3. idle RSS of the init, PID 1 of its own PID namespace
# kids PID: the children of every thread of PID (Go forks from any thread).
kids() { echo $(cat /proc/"$1"/task/*/children 2>/dev/null || true); }
# child_named PID COMM: wait (≤5 s) until PID has a child that has exec'd COMM; print its PID.
child_named() {
	local i k
	for ((i = 0; i < 500; i++)); do
		k=$(kids "$1")
		if [[ -n $k && $(cat /proc/"${k%% *}"/comm 2>/dev/null) == "$2" ]]; then echo "${k%% *}"; return; fi
		sleep 0.01
	done
	return 1
}

# measure NAME: one run; appends "VmRSS RssAnon RssFile Threads" (kB) to $TMP/rss.NAME.
measure() {
	local bin=${BIN[$1]} init sl
	unshare --pid --fork --mount-proc --kill-child "$bin" -- sleep 1000 </dev/null >/dev/null 2>>"$TMP/stderr" &
	UPID=$!
	init=$(child_named "$UPID" "$(basename "$bin")") || die "$1: init did not start"
	INIT=$init
	sl=$(child_named "$init" sleep) || die "$1: init did not start sleep"
	sleep "$SETTLE"
	awk '/^(VmRSS|RssAnon|RssFile|Threads):/ { printf "%s ", $2 } END { print "" }' \
		/proc/"$init"/status >>"$TMP/rss.$1"
	stop_run
	[[ ! -e /proc/$init && ! -e /proc/$sl ]] || die "$1: init $init or its sleep $sl outlived the run"
}

for ((r = 0; r < RUNS; r++)); do
	log "round $((r + 1))/$RUNS"
	for ((j = 0; j < ${#NAMES[@]}; j++)); do   # rotate the start too, so no init is always first
		measure "${NAMES[(r + j) % ${#NAMES[@]}]}"
	done
done

# median FILE COL: the median of column COL (mean of the two middle values if even).
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ref=$(median "$TMP/rss.tini" 1)
out "" "## Idle RSS of the init (supervising \`sleep 1000\`, $RUNS runs each)" "" \
	"| init | VmRSS min | VmRSS median | VmRSS max | RssAnon median | RssFile median | threads | median / tini |" \
	"|---|--:|--:|--:|--:|--:|--:|--:|"
for n in "${NAMES[@]}"; do
	f=$TMP/rss.$n
	read -r lo hi < <(cut -d' ' -f1 "$f" | sort -n | sed -n '1p;$p' | paste -sd' ')
	med=$(median "$f" 1)
	out "| $n | $lo KiB | $med KiB | $hi KiB | $(median "$f" 2) KiB | $(median "$f" 3) KiB | $(median "$f" 4) | $(awk -v a="$med" -v b="$ref" 'BEGIN { printf "%.2f×", a / b }') |"
	result "idle.rss_kib.$n" "$med"
done

# --- 4. start overhead: INIT -- true against plain true, same unshare
out "" "## Start overhead (\`unshare --pid --fork --mount-proc --kill-child [INIT --] true\`)" ""
if command -v hyperfine >/dev/null; then
	U="unshare --pid --fork --mount-proc --kill-child"
	cmds=(-n "true (no init)" "$U true")
	for n in "${NAMES[@]}"; do cmds+=(-n "$n" "$U ${BIN[$n]} -- true"); done
	log "hyperfine..."
	hyperfine -N --warmup 3 --runs 30 --export-json "$TMP/start.json" "${cmds[@]}" >"$TMP/hyperfine.log" 2>&1 ||
		{ cat "$TMP/hyperfine.log" >&2; die "hyperfine failed"; }
	# From hyperfine's 30 timings per command: min / median / max, the median
	# over plain `true` (what the init adds), and the median over tini's.
	out "hyperfine -N, 3 warm-ups, 30 runs per command; times in ms." "" \
		"| command | min | median | max | added over \`true\` (median) | median / tini |" "|---|--:|--:|--:|--:|--:|"
	jq -r '
		def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def f2: (. * 100 | round) as $c | "\($c / 100 | floor).\($c % 100 + 100 | tostring | .[1:])";
		def ms: . * 1000 | f2;
		[.results[] | {name: .command, t: .times}] as $r
		| ($r[] | select(.name == "true (no init)") | .t | med) as $base
		| ($r[] | select(.name == "tini") | .t | med) as $tini
		| $r[] | (.t | med) as $m
		| "| \(.name) | \(.t | min | ms) | **\($m | ms)** | \(.t | max | ms) | \(if .name == "true (no init)" then "-" else ($m - $base | ms) end) | \($m / $tini | f2)× |"
	' "$TMP/start.json" >>"$REPORT"
	result "idle.start_ratio.crinit" "$(jq -r '
		def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		[.results[] | {name: .command, t: (.times | med)}] as $r
		| ($r[] | select(.name == "crinit") | .t) / ($r[] | select(.name == "tini") | .t) * 100 | round / 100' "$TMP/start.json")"
else
	out "_skipped: hyperfine is not available._"
fi

# --- 5. report
# unshare (util-linux 2.38) says "sigprocmask unblock failed" when its child
# dies of SIGKILL, as every init here does at the end of its run: not news.
grep -v 'sigprocmask unblock failed' "$TMP/stderr" >&2 || true
cat "$REPORT"
[[ -z ${OUT:-} ]] || cp "$REPORT" "$OUT"
