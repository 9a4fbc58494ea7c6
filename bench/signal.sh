#!/usr/bin/env bash
# bench/signal.sh: how long a signal takes to get through the init.
#
# Each init runs as PID 1 of a new PID namespace with bench/sigchild as its
# child. On the host, sigchild's sender reads CLOCK_MONOTONIC, sends SIGUSR1
# to the init's host PID and waits until the child has written down when it
# received it, before sending the next. Latency = receive time - send time.
# "no init" runs sigchild itself as PID 1: the floor, what delivery to the Go
# child costs without any forwarding. Prints a Markdown section on stdout.
#
# Needs root (unshare --pid). Environment:
#   ROUNDS=5   runs per init, round-robin
#   N=300      signals per run
#   GAP=5ms    pause between signals, so each finds the init idle
#   STOPS=20   stops per init, round-robin
#   CRINIT     crinit binary to use (default: built from this tree)
#   RESULTS    file to append "key value" results to (see lib.sh)
NAME=signal
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-5} N=${N:-300} GAP=${GAP:-5ms} STOPS=${STOPS:-20}
for tool in unshare tini dumb-init; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CR=$(crinit_bin)
SIG=$(go_helper sigchild)

# The variants: name, then the init's command line up to the child.
# crinit and dumb-init forward to the child's process group by default; tini
# to the child alone unless -g. sigchild is alone in its group, so both reach
# the same process: only the init's work differs.
VARIANTS=("no init" "crinit --log-level warn" "crinit" "tini -g" "tini" "dumb-init")
declare -A CMD=(
	["no init"]=""
	["crinit --log-level warn"]="$CR --log-level warn --health-addr 127.0.0.1:0 --"
	["crinit"]="$CR --health-addr 127.0.0.1:0 --"
	["tini -g"]="tini -g --"
	["tini"]="tini --"
	["dumb-init"]="dumb-init --"
)
declare -A TO=(["no init"]="-" ["crinit --log-level warn"]=group ["crinit"]=group ["tini -g"]=group ["tini"]=child ["dumb-init"]=group)
declare -A KEY=(["no init"]=none ["crinit --log-level warn"]=crinit_warn ["crinit"]=crinit ["tini -g"]=tini_g ["tini"]=tini ["dumb-init"]=dumb-init)

# run VARIANT ROUND: one namespace, N signals; latencies (ns) to lat.ROUND.VARIANT.
run() {
	local v=$1 fifo=$TMP/fifo
	rm -f "$fifo" && mkfifo "$fifo"
	# shellcheck disable=SC2086 # CMD is a command line, split on purpose
	ns_start "$TMP/init.log" ${CMD[$v]} "$SIG" recv "$fifo"
	"$SIG" send -pid "$INIT" -n "$N" -gap "$GAP" "$fifo" >"$TMP/lat.$2.$v" ||
		{ tail -n 20 "$TMP/init.log" >&2; die "$v: sender failed"; }
	ns_stop
}

for ((r = 0; r < ROUNDS; r++)); do
	log "signal: round $((r + 1))/$ROUNDS"
	for ((j = 0; j < ${#VARIANTS[@]}; j++)); do   # rotate the start, so no variant is always first
		run "${VARIANTS[(r + j) % ${#VARIANTS[@]}]}" "$r"
	done
done

# Per run: median and p99 in µs. Per variant: min/median/max of those over
# the runs, and the median over runs of (its median / tini -g's median).
us() { awk '{ printf "%.0f\n", $1 / 1000 }'; }
row_stats() { # VARIANT COLUMN(2=median, 4=p99) -> "min med max" over rounds
	for ((r = 0; r < ROUNDS; r++)); do stats <"$TMP/lat.$r.$1" | cut -d' ' -f"$2"; done | stats | cut -d' ' -f1-3
}
round_ratio() { # VARIANT REF [COLUMN] -> median over rounds of median(VARIANT)/median(REF), or of p99 with COLUMN 4
	local col=${3:-2}
	for ((r = 0; r < ROUNDS; r++)); do
		ratio "$(stats <"$TMP/lat.$r.$1" | cut -d' ' -f"$col")" "$(stats <"$TMP/lat.$r.$2" | cut -d' ' -f"$col")" | tr -d '×'
	done | stats | awk '{ printf "%.2f×\n", $2 }'
}
read -r _ floor _ < <(row_stats "no init" 2)

cat <<EOF
## Signal forwarding latency

SIGUSR1 sent to the init's host PID, received by its child (\`bench/sigchild\`, a
Go program using \`os/signal\`); $N signals per run, one at a time, $GAP apart;
$ROUNDS runs per init, round-robin. Latencies in µs, CLOCK_MONOTONIC from \`kill()\`
in the sender to the child's handler. "min / median / max" are over the runs'
own medians (or p99s); "added" subtracts the "no init" median (sigchild as PID 1
itself, no forwarding). The ratio is the median over runs of the run's median
over the same run's \`tini -g\` median (both forward to the child's process group).
crinit logs every forwarded signal at info level (\`signal forwarded\`, to a file
here), so it runs once with \`--log-level warn\` and once with the default.

| init | forwards to | median (min / median / max) | p99 (min / median / max) | added over no init | median / tini -g | added / tini -g's added |
|---|---|--:|--:|--:|--:|--:|
EOF
read -r _ tmed _ < <(row_stats "tini -g" 2)
tadded=$(awk -v a="$tmed" -v b="$floor" 'BEGIN { print (a - b) / 1000 }')
for v in "${VARIANTS[@]}"; do
	read -r lo med hi < <(row_stats "$v" 2)
	read -r plo pmed phi < <(row_stats "$v" 4)
	added=$(awk -v a="$med" -v b="$floor" 'BEGIN { printf "%.0f", (a - b) / 1000 }')
	addratio=$(ratio "$added" "$tadded")
	[[ $v == "no init" ]] && added="-" addratio="-"
	rr=$(round_ratio "$v" "tini -g")
	printf '| %s | %s | %s / **%s** / %s | %s / %s / %s | %s | %s | %s |\n' "$v" "${TO[$v]}" \
		"$(us <<<"$lo")" "$(us <<<"$med")" "$(us <<<"$hi")" "$(us <<<"$plo")" "$(us <<<"$pmed")" "$(us <<<"$phi")" \
		"$added" "$rr" "$addratio"
	result "signal.median_us.${KEY[$v]}" "$(us <<<"$med")"
	result "signal.ratio.${KEY[$v]}" "${rr%×}"
	pr=$(round_ratio "$v" "tini -g" 4)
	result "signal.p99_ratio.${KEY[$v]}" "${pr%×}"
done
echo
echo "p99 over the same run's \`tini -g\` p99 (median over runs): $(for v in "crinit --log-level warn" crinit tini dumb-init; do printf '%s %s; ' "$v" "$(round_ratio "$v" "tini -g" 4)"; done)"
echo

# --- the stop: SIGTERM to the init until it has exited
STOPPERS=(crinit tini dumb-init)
for ((r = 0; r < STOPS; r++)); do
	((r % 5)) || log "signal: stops $((r + 1))-$((r + 5))/$STOPS"
	for ((j = 0; j < ${#STOPPERS[@]}; j++)); do
		v=${STOPPERS[(r + j) % ${#STOPPERS[@]}]}
		rm -f "$TMP/fifo" && mkfifo "$TMP/fifo"
		# shellcheck disable=SC2086 # CMD is a command line, split on purpose
		ns_start "$TMP/init.log" ${CMD[$v]} "$SIG" recv "$TMP/fifo"
		"$SIG" term -pid "$INIT" "$TMP/fifo" >>"$TMP/stop.$v" || { tail -n 20 "$TMP/init.log" >&2; die "$v: stop failed"; }
		wait "$UPID" 2>/dev/null || true
		UPID="" INIT=""
	done
done
cat <<EOF
## Stop: SIGTERM to the init until it has exited

The init's child is \`sigchild recv\`, which SIGTERM ends. $STOPS stops per init,
round-robin; ms from \`kill()\` to the init's exit, seen through a pidfd.

| init | min | median | max | median / tini |
|---|--:|--:|--:|--:|
EOF
ms() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e6 }'; }
read -r _ tstop _ < <(stats <"$TMP/stop.tini")
for v in "${STOPPERS[@]}"; do
	read -r lo med hi _ < <(stats <"$TMP/stop.$v")
	printf '| %s | %s | **%s** | %s | %s |\n' "$v" "$(ms "$lo")" "$(ms "$med")" "$(ms "$hi")" "$(ratio "$med" "$tstop")"
	[[ $v != crinit ]] || result "stop.ratio.crinit" "$(ratio "$med" "$tstop" | tr -d '×')"
done
echo
