#!/usr/bin/env bash
# bench/idlecpu.sh: the CPU a supervisor burns while nothing happens.
#
# Every supervisor runs at once, each as PID 1 of its own PID namespace (with
# its own /proc), each supervising the same 50-process tree: `sh -c` that
# starts 49 `sleep 1000` and waits. Once every tree is complete and has
# settled, the supervisor's utime+stime (/proc/PID/stat, all its threads) is
# read at the start and end of WINDOWS back-to-back windows of SECONDS each.
# Prints a Markdown section on stdout.
#
# Needs root (unshare --pid). Environment:
#   WINDOWS=3        windows measured
#   SECONDS_PER=30   length of each window
#   SETTLE=5         seconds between the trees being complete and the first reading
#   CRINIT           crinit binary to use (default: built from this tree)
#   PM2_RUNTIME      pm2-runtime to use (default: npm install into TMP, else left out)
#   RESULTS          file to append "key value" results to (see lib.sh)
NAME=idlecpu
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WINDOWS=${WINDOWS:-3} SECONDS_PER=${SECONDS_PER:-30} SETTLE=${SETTLE:-5}
TICK=$(getconf CLK_TCK)
# shellcheck disable=SC2016 # expanded by the tree's own shell
TREE='for i in $(seq 49); do sleep 1000 & done; wait'
for tool in unshare tini dumb-init; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CR=$(crinit_bin)

NAMES=(crinit tini dumb-init)
declare -A CMD=(
	[crinit]="$CR --health-addr 127.0.0.1:0 -- sh -c"
	[tini]="tini -- sh -c"
	[dumb-init]="dumb-init -- sh -c"
)
if command -v supervisord >/dev/null; then
	cat >"$TMP/supervisord.conf" <<-EOF
		[supervisord]
		nodaemon=true
		user=root
		logfile=$TMP/supervisord.log
		pidfile=$TMP/supervisord.pid
		[program:tree]
		command=sh -c '$TREE'
		autorestart=false
	EOF
	NAMES+=(supervisord) CMD[supervisord]="supervisord -c $TMP/supervisord.conf"
else
	log "idlecpu: supervisord not installed, left out"
fi
if PM2=$(pm2_runtime); then
	cat >"$TMP/ecosystem.config.js" <<-EOF
		module.exports = { apps: [{ name: 'tree', script: 'sh', args: ['-c', '$TREE'], interpreter: 'none', autorestart: false }] };
	EOF
	NAMES+=(pm2-runtime) CMD[pm2-runtime]="$PM2 $TMP/ecosystem.config.js"
else
	log "idlecpu: pm2 not available, left out"
fi

# tree_size PID: how many descendants PID has.
tree_size() {
	local n=0 k
	for k in $(kids "$1"); do n=$((n + 1 + $(tree_size "$k"))); done
	echo "$n"
}
# ticks PID: user + system time of PID so far, in clock ticks (fields 14 and
# 15 of /proc/PID/stat, counted after the command name, which may hold spaces).
ticks() { sed 's/.*) //' /proc/"$1"/stat | awk '{ print $12 + $13 }'; }

declare -A PID
for n in "${NAMES[@]}"; do
	# shellcheck disable=SC2086 # CMD is a command line, split on purpose
	if [[ $n == supervisord || $n == pm2-runtime ]]; then ns_start "$TMP/$n.log" ${CMD[$n]}
	else ns_start "$TMP/$n.log" ${CMD[$n]} "$TREE"; fi
	PID[$n]=$INIT
	EXTRA_PIDS+=("$INIT" "$UPID")   # cleanup kills the init (the namespace), then unshare
	UPID="" INIT=""
done
log "idlecpu: waiting for the trees..."
for n in "${NAMES[@]}"; do
	for ((i = 0; i < 300; i++)); do   # 30 s
		(($(tree_size "${PID[$n]}") >= 50)) && break
		kill -0 "${PID[$n]}" 2>/dev/null || { tail -n 20 "$TMP/$n.log" >&2; die "$n exited"; }
		sleep 0.1
	done
	(($(tree_size "${PID[$n]}") >= 50)) || die "$n: the tree did not reach 50 processes"
done
sleep "$SETTLE"

declare -A BEFORE
for n in "${NAMES[@]}"; do BEFORE[$n]=$(ticks "${PID[$n]}"); done
for ((w = 0; w < WINDOWS; w++)); do
	log "idlecpu: window $((w + 1))/$WINDOWS (${SECONDS_PER} s)"
	sleep "$SECONDS_PER"
	for n in "${NAMES[@]}"; do
		t=$(ticks "${PID[$n]}")
		(($(tree_size "${PID[$n]}") >= 50)) || die "$n: the tree shrank during the window"
		# % of one core = CPU seconds / wall seconds * 100
		awk -v d=$((t - BEFORE[$n])) -v hz="$TICK" -v s="$SECONDS_PER" 'BEGIN { printf "%.3f\n", d / hz / s * 100 }' >>"$TMP/cpu.$n"
		echo $((t - BEFORE[$n])) >>"$TMP/ticks.$n"
		BEFORE[$n]=$t
	done
done

cat <<EOF
## Idle CPU

Every supervisor at once, each PID 1 of its own PID namespace, each supervising
a 50-process tree (\`sh -c\` starting 49 \`sleep 1000\` and waiting); defaults
otherwise (crinit samples the tree's RSS and descriptors every 1 s; pm2's worker
runs every 30 s). After ${SETTLE} s of settling, utime+stime of the supervisor
process (all its threads) over $WINDOWS back-to-back windows of $SECONDS_PER s, as % of
one core (min / median / max over the windows). The clock tick is $((1000 / TICK)) ms, so
one tick in a $SECONDS_PER s window is $(awk -v hz="$TICK" -v s="$SECONDS_PER" 'BEGIN { printf "%.3f", 100 / hz / s }') %.

| supervisor | CPU % of one core (min / median / max) | CPU ticks per window (median) | median / tini |
|---|--:|--:|--:|
EOF
read -r _ tmed _ < <(stats <"$TMP/cpu.tini")
for n in "${NAMES[@]}"; do
	read -r lo med hi _ < <(stats <"$TMP/cpu.$n")
	read -r _ kmed _ < <(stats <"$TMP/ticks.$n")
	printf '| %s | %.2f / **%.2f** / %.2f | %s | %s |\n' "$n" "$lo" "$med" "$hi" "$kmed" "$(ratio "$med" "$tmed")"
	result "idlecpu.pct.$n" "$med"
done
echo
