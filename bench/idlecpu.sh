#!/usr/bin/env bash
# bench/idlecpu.sh: the CPU a supervisor burns while nothing happens.
#
# Every supervisor runs at once, each as PID 1 of its own PID namespace (with
# its own /proc), each supervising the same 50-process tree: `sh -c` that
# starts 49 `sleep 1000` and waits; crinit and tini once more with a
# 1-process tree (`sleep 1000`). Once every tree is complete and has settled,
# the supervisor's time on CPU (/proc/PID/task/*/schedstat, in ns, all its
# threads) is read at the start and end of WINDOWS back-to-back windows of
# SECONDS each.
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
# The 1-process tree: NAME-1 supervises `sleep 1000` alone.
NAMES+=(crinit-1 tini-1)
CMD[crinit-1]="$CR --health-addr 127.0.0.1:0 -- sleep 1000" CMD[tini-1]="tini -- sleep 1000"
declare -A WANT=([crinit-1]=1 [tini-1]=1)   # processes in the tree; 50 unless said

# tree_size PID: how many descendants PID has.
tree_size() {
	local n=0 k
	for k in $(kids "$1"); do n=$((n + 1 + $(tree_size "$k"))); done
	echo "$n"
}
# cpu_ns PID: time PID's threads have spent on a CPU so far, in ns (the first
# field of each thread's schedstat): finer than utime+stime's clock ticks.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d\n", s }'; }

declare -A PID
for n in "${NAMES[@]}"; do
	# shellcheck disable=SC2086 # CMD is a command line, split on purpose
	if [[ $n == supervisord || $n == pm2-runtime || -n ${WANT[$n]:-} ]]; then ns_start "$TMP/$n.log" ${CMD[$n]}
	else ns_start "$TMP/$n.log" ${CMD[$n]} "$TREE"; fi
	PID[$n]=$INIT
	EXTRA_PIDS+=("$INIT" "$UPID")   # cleanup kills the init (the namespace), then unshare
	UPID="" INIT=""
done
log "idlecpu: waiting for the trees..."
for n in "${NAMES[@]}"; do
	want=${WANT[$n]:-50}
	for ((i = 0; i < 300; i++)); do   # 30 s
		(($(tree_size "${PID[$n]}") >= want)) && break
		kill -0 "${PID[$n]}" 2>/dev/null || { tail -n 20 "$TMP/$n.log" >&2; die "$n exited"; }
		sleep 0.1
	done
	(($(tree_size "${PID[$n]}") >= want)) || die "$n: the tree did not reach $want processes"
done
sleep "$SETTLE"

declare -A BEFORE
for n in "${NAMES[@]}"; do BEFORE[$n]=$(cpu_ns "${PID[$n]}"); done
for ((w = 0; w < WINDOWS; w++)); do
	log "idlecpu: window $((w + 1))/$WINDOWS (${SECONDS_PER} s)"
	sleep "$SECONDS_PER"
	for n in "${NAMES[@]}"; do
		t=$(cpu_ns "${PID[$n]}")
		(($(tree_size "${PID[$n]}") >= ${WANT[$n]:-50})) || die "$n: the tree shrank during the window"
		# % of one core = CPU seconds / wall seconds * 100
		awk -v d=$((t - BEFORE[$n])) -v s="$SECONDS_PER" 'BEGIN { printf "%.4f\n", d / 1e9 / s * 100 }' >>"$TMP/cpu.$n"
		BEFORE[$n]=$t
	done
done

cat <<EOF
## Idle CPU

Every supervisor at once, each PID 1 of its own PID namespace, each supervising
a 50-process tree (\`sh -c\` starting 49 \`sleep 1000\` and waiting); crinit and tini
also with a 1-process tree (\`sleep 1000\`, rows \`-1\`). Defaults otherwise (crinit
samples the tree's RSS and descriptors every 1 s, every 2 s while far from every
limit; pm2's worker runs every 30 s). After ${SETTLE} s of settling, the time the
supervisor's threads spent on a CPU (schedstat, ns) over $WINDOWS back-to-back
windows of $SECONDS_PER s, as % of one core (min / median / max over the windows).

| supervisor | tree | CPU % of one core (min / median / max) | median / tini's, same tree |
|---|--:|--:|--:|
EOF
read -r _ tmed _ < <(stats <"$TMP/cpu.tini")
read -r _ tmed1 _ < <(stats <"$TMP/cpu.tini-1")
for n in "${NAMES[@]}"; do
	read -r lo med hi _ < <(stats <"$TMP/cpu.$n")
	ref=$tmed procs=50
	[[ -z ${WANT[$n]:-} ]] || ref=$tmed1 procs=${WANT[$n]}
	printf '| %s | %s | %.4f / **%.4f** / %.4f | %s |\n' "${n%-1}" "$procs" "$lo" "$med" "$hi" "$(ratio "$med" "$ref")"
	result "idlecpu.pct.$n" "$med"
done
echo
