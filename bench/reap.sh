#!/usr/bin/env bash
# bench/reap.sh: how fast the init reaps a burst of orphans.
#
# Each init runs as PID 1 of a new PID namespace with bench/reapchild as its
# child, which forks N orphans (each through an intermediate that exits at
# once, so they are PID 1's to reap) and scans /proc every millisecond until
# none is left. It reports the time from its first fork to that scan. Then a
# burst: the init is stopped (SIGSTOP from the host), reapchild forks N more,
# which pile up as zombies, and the time from SIGCONT to the last one reaped
# is the init's reaping rate alone. The init's own CPU time for each phase
# comes from /proc/PID/stat. Prints a Markdown section on stdout.
#
# Needs root (unshare --pid). Environment:
#   RUNS=3     runs per init, round-robin
#   N=5000     orphans per run
#   CRINIT     crinit binary to use (default: built from this tree)
#   RESULTS    file to append "key value" results to (see lib.sh)
NAME=reap
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-3} N=${N:-5000}
for tool in unshare tini dumb-init; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CR=$(crinit_bin)
REAP=$(go_helper reapchild)
TICK=$(getconf CLK_TCK)

NAMES=(crinit tini dumb-init)
declare -A CMD=([crinit]="$CR --health-addr 127.0.0.1:0 --" [tini]="tini --" [dumb-init]="dumb-init --")

# cpu_ms PID: user + system CPU time of PID so far, in ms (fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold spaces).
cpu_ms() { sed 's/.*) //' /proc/"$1"/stat | awk -v hz="$TICK" '{ print ($12 + $13) * 1000 / hz }'; }

# await NAME PATTERN: wait (60 s at most) for reapchild to print PATTERN; print the match.
await() {
	local i line
	for ((i = 0; i < 6000; i++)); do
		line=$(grep -o "$2" "$TMP/out" || true)
		[[ -z $line ]] || { echo "$line"; return; }
		kill -0 "$INIT" 2>/dev/null || { cat "$TMP/out" >&2; die "$1: the init exited early"; }
		sleep 0.01
	done
	die "$1: no \"$2\" within 60 s"
}

# run NAME ROUND: one namespace, both phases; appends "total_ms spawn_ms
# init_cpu_ms burst_ms burst_cpu_ms" to res.NAME, and the totals to
# round.ROUND.NAME.
run() {
	local line cpu spawn total t0 end burst bcpu
	: >"$TMP/out"
	rm -f "$TMP/go" && mkfifo "$TMP/go"
	# shellcheck disable=SC2086 # CMD is a command line, split on purpose
	ns_start "$TMP/out" ${CMD[$1]} "$REAP" -n "$N" -burst "$TMP/go" -hold
	line=$(await "$1" 'spawn_us=[0-9]* total_us=[0-9]*')
	cpu=$(cpu_ms "$INIT")
	kill -STOP "$INIT"   # from the host, SIGSTOP reaches a namespace's init
	echo go >"$TMP/go"
	await "$1" '^forked' >/dev/null
	t0=${EPOCHREALTIME/./}
	kill -CONT "$INIT"
	end=$(await "$1" 'burst_end_us=[0-9]*')
	bcpu=$(awk -v a="$(cpu_ms "$INIT")" -v b="$cpu" 'BEGIN { print a - b }')
	ns_stop
	spawn=${line#spawn_us=} && spawn=${spawn%% *} && total=${line#*total_us=}
	burst=$(awk -v a="${end#burst_end_us=}" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) / 1000 }')
	echo "$((total / 1000)) $((spawn / 1000)) $cpu $burst $bcpu" >>"$TMP/res.$1"
	echo "$total $burst" >"$TMP/round.$2.$1"
}

for ((r = 0; r < RUNS; r++)); do
	log "reap: round $((r + 1))/$RUNS"
	for ((j = 0; j < ${#NAMES[@]}; j++)); do
		run "${NAMES[(r + j) % ${#NAMES[@]}]}" "$r"
	done
done

col() { cut -d' ' -f"$2" "$TMP/res.$1" | stats; }   # NAME COLUMN -> stats
round_ratio() { # NAME COLUMN(1=total, 2=burst)
	for ((r = 0; r < RUNS; r++)); do
		ratio "$(cut -d' ' -f"$2" "$TMP/round.$r.$1")" "$(cut -d' ' -f"$2" "$TMP/round.$r.tini")" | tr -d '×'
	done | stats | awk '{ printf "%.2f×\n", $2 }'
}

cat <<EOF
## Reaping orphans

$N orphans per run, forked as fast as \`bench/reapchild\` can (fork an
intermediate, which forks the orphan and exits; both exit at once), then
\`/proc\` listed every ms until no process but PID 1 and reapchild is left.
$RUNS runs per init, round-robin; times in ms, min / median / max.

- **total**: from the first fork to the listing that finds none left. Forking
  dominates it; an init that keeps up reaps each orphan within microseconds,
  so "after the last fork" is the init's lag.
- **burst**: then the init is stopped (SIGSTOP from the host), $N more orphans
  pile up as zombies, and the time runs from SIGCONT to the listing that finds
  none left: the init's reaping rate alone, with no forks beside it.
- **init CPU**: the init's user+system time in each phase (phase 1 includes its
  start), from 10 ms ticks.
- The ratios are the medians over runs of the run's time / the same run's tini time.

| init | total (min / median / max) | after the last fork (median) | init CPU, phase 1 (median) | burst (min / median / max) | init CPU, burst (median) | total / tini | burst / tini |
|---|--:|--:|--:|--:|--:|--:|--:|
EOF
for n in "${NAMES[@]}"; do
	read -r lo med hi _ < <(col "$n" 1)
	read -r _ cmed _ < <(col "$n" 3)
	read -r blo bmed bhi _ < <(col "$n" 4)
	read -r _ bcmed _ < <(col "$n" 5)
	lag=$(awk '{ print $1 - $2 }' "$TMP/res.$n" | stats | cut -d' ' -f2)
	rr=$(round_ratio "$n" 1) br=$(round_ratio "$n" 2)
	printf '| %s | %s / **%s** / %s | %s | %s | %s / **%s** / %s | %s | %s | %s |\n' \
		"$n" "$lo" "$med" "$hi" "$lag" "$cmed" "$blo" "$bmed" "$bhi" "$bcmed" "$rr" "$br"
	result "reap.total_ms.$n" "$med"
	result "reap.ratio.$n" "${rr%×}"
	result "reap.burst_ms.$n" "$bmed"
	result "reap.burst_ratio.$n" "${br%×}"
done
echo
