#!/usr/bin/env bash
# bench/downtime.sh: what the clients of a Node service see while it is
# restarted, crinit (with --listen, and without) against pm2-runtime (fork
# mode, and cluster mode with 2 instances).
#
# The service is an unmodified app, http.createServer(handler).listen(PORT)
# and no signal handler, in two versions (bench/apps/): leak.js grows about
# 20 MiB/s and is restarted at 200 MiB (crinit --rss-limit 200MiB; pm2
# --max-memory-restart 200M), crash.js calls process.exit(1) 7 to 9 s after
# it starts. Each supervisor runs each app as PID 1 of a new PID namespace
# for DOWNTIME_SECONDS, under two loadgens at once (bench/loadgen, 8 clients
# each, one request per client every 10 ms, 2 s deadline): one opens a
# connection per request, the other keeps its connections alive. Both see
# the same restarts. Every answer names the pid that served it: restarts =
# distinct pids - instances, counted the same way for every supervisor.
#
# The crinit rows share --restart-delay 100ms --min-uptime 5s (without the
# second, each restart of an app that lives 8 s would double the delay);
# the "--listen" row adds --listen tcp://127.0.0.1:PORT and runs only when
# crinit --help mentions --listen. pm2 runs with PM2_WORKER_INTERVAL=1000,
# so that it checks memory every second as crinit does, not every 30 s.
# Prints a Markdown section on stdout. About 7 minutes at the defaults
# (8 runs of 45 s, 6 without --listen).
#
# Needs root (unshare --pid), go, node, curl, jq. Environment:
#   DOWNTIME_SECONDS=45  length of each run's load
#   CRINIT               crinit binary to use (default: built from this tree)
#   PM2_RUNTIME          pm2-runtime to use (default: npm install into TMP; if
#                        that fails, pm2 is left out)
#   RESULTS              file to append "key value" results to (see lib.sh)
NAME=downtime
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${DOWNTIME_SECONDS:-45}
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "DOWNTIME_SECONDS=$SECS: want a whole number of seconds"
PORT=4540 CLIENTS=8 INTERVAL_MS=10
URL=http://127.0.0.1:$PORT/
CRINIT_FLAGS=(--restart-delay 100ms --min-uptime 5s --health-addr 127.0.0.1:0)
for tool in unshare node curl jq; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CR=$(crinit_bin)
PM2=$(pm2_runtime) || { log "downtime: pm2 not available, left out"; PM2=""; }
log "building loadgen..."
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$TMP/loadgen" ./bench/loadgen) >&2 || die "could not build bench/loadgen"

# The supervisors, in table order: name -> key for RESULTS.
SUPS=() NOTES=()
declare -A KEY=(["crinit --listen"]=crinit-listen [crinit]=crinit [pm2-runtime]=pm2 ["pm2-runtime -i 2"]=pm2-cluster)
if "$CR" --help 2>&1 | grep -q -- '--listen'; then SUPS+=("crinit --listen")
else NOTES+=("_crinit --listen left out: this crinit has no \`--listen\` (\`crinit --help\`)._"); fi
SUPS+=(crinit)
if [[ -n $PM2 ]]; then SUPS+=("pm2-runtime" "pm2-runtime -i 2")
else NOTES+=("_pm2-runtime left out: npm could not install pm2._"); fi

# cmdline SUPERVISOR SCENARIO: sets ARGV to the command of one run.
cmdline() {
	local app=$ROOT/bench/apps/$2.js
	case $1 in
	crinit*)
		ARGV=("$CR" "${CRINIT_FLAGS[@]}")
		[[ $1 != *--listen ]] || ARGV+=(--listen "tcp://127.0.0.1:$PORT")
		[[ $2 != leak ]] || ARGV+=(--rss-limit 200MiB)
		ARGV+=(-- node "$app")
		;;
	pm2*)
		ARGV=(env PM2_WORKER_INTERVAL=1000 "$PM2" start "$app")
		[[ $1 != *"-i 2" ]] || ARGV+=(-i 2)
		[[ $2 != leak ]] || ARGV+=(--max-memory-restart 200M)
		;;
	esac
}
instances() { if [[ $1 == *"-i 2" ]]; then echo 2; else echo 1; fi; }

# listening: whether something accepts connections on PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
# started OUT SUPERVISOR: how many times the supervisor says it started the
# app, from its log (a cross-check of the pid count, for the progress log).
started() {
	case $2 in
	crinit*) grep -c '"@message":"child started"' "$1" || true ;;
	pm2*) grep -c 'starting in -' "$1" || true ;;
	esac
}

# run SUPERVISOR SCENARIO: one run. The loadgens' JSON lines go to
# TMP/res.KEY.SCENARIO.fresh and .keepalive.
run() {
	local sup=$1 sc=$2 out=$TMP/out.${KEY[$1]}.$2 res=$TMP/res.${KEY[$1]}.$2 i fresh keep
	for ((i = 0; i < 50; i++)); do listening || break; sleep 0.1; done
	! listening || die "port $PORT is in use: free it, or change PORT in bench/downtime.sh"
	rm -rf "$PM2_HOME"
	cmdline "$sup" "$sc"
	log "downtime: $sup, $sc, ${SECS}s: ${ARGV[*]}"
	PORT=$PORT ns_start "$out" "${ARGV[@]}"
	for ((i = 0; i < 200; i++)); do   # 20 s to answer
		[[ $(curl -s --max-time 1 "$URL" || true) == *'"pid"'* ]] && break
		kill -0 "$INIT" 2>/dev/null || break
		sleep 0.1
	done
	if ((i == 200)) || ! kill -0 "$INIT" 2>/dev/null; then
		tail -n 20 "$out" >&2
		die "$sup, $sc: the app did not answer within 20 s"
	fi
	local lg=("$TMP/loadgen" -url "$URL" -c "$CLIENTS" -d "${SECS}s" -interval "${INTERVAL_MS}ms" -instances "$(instances "$sup")")
	"${lg[@]}" >"$res.fresh" &
	fresh=$!
	"${lg[@]}" -keepalive >"$res.keepalive" &
	keep=$!
	EXTRA_PIDS+=("$fresh" "$keep")
	wait "$fresh" || die "$sup, $sc: loadgen failed"
	wait "$keep" || die "$sup, $sc: loadgen failed"
	EXTRA_PIDS=()
	if ! kill -0 "$INIT" 2>/dev/null; then
		tail -n 20 "$out" >&2
		log "downtime: $sup, $sc: the supervisor exited during the run"
		echo "$sup" >>"$TMP/exited.$sc"
	fi
	log "downtime: $sup, $sc: $(started "$out" "$sup") starts in the supervisor's log;" \
		"fresh $(jq -c '{restarts, failed, max_gap_ms}' "$res.fresh"), keep-alive $(jq -c '{restarts, failed, max_gap_ms}' "$res.keepalive")"
	ns_stop
}

for sc in leak crash; do
	for sup in "${SUPS[@]}"; do run "$sup" "$sc"; done
done

# restarts SUPERVISOR SCENARIO: the run's restarts, from the pids both
# loadgens saw together. Alone, a keep-alive loadgen can miss restarts: in
# pm2's cluster mode its connections stay with the instance that took them.
restarts() {
	local r=$TMP/res.${KEY[$1]}.$2
	jq -s --argjson n "$(instances "$1")" '[.[].pid_list[]] | unique | [length - $n, 0] | max' "$r.fresh" "$r.keepalive"
}

# table SCENARIO: the rows of one scenario's table.
table() {
	local sc=$1 sup v n
	echo "| supervisor | connections | restarts | failed / restart | longest gap, ms | p99 latency, ms | max latency, ms | requests | failed: refused / reset / timeout / status / other |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|--:|"
	for sup in "${SUPS[@]}"; do
		n=$(restarts "$sup" "$sc")
		for v in fresh keepalive; do
			local f=$TMP/res.${KEY[$sup]}.$sc.$v mark=""
			grep -qxF "$sup" "$TMP/exited.$sc" 2>/dev/null && mark=" (exited)"
			jq -r --arg sup "$sup$mark" --arg v "${v/keepalive/keep-alive}" --argjson n "$n" '
				(if $n > 0 then (.failed / $n * 10 | round / 10 | tostring) else "\(.failed), no restart" end) as $per
				| .failed_by as $b
				| "| \($sup) | \($v) | \($n) | **\($per)** | **\(.max_gap_ms)** | \(.p99_ms) | \(.max_ms) | \(.requests) | \($b.refused) / \($b.reset) / \($b.timeout) / \($b.status) / \($b.other) |"
			' "$f"
			result "downtime.failed_per_restart.${KEY[$sup]}.$sc.$v" "$(jq -r --argjson n "$n" 'if $n > 0 then .failed / $n * 10 | round / 10 else "-" end' "$f")"
			result "downtime.max_gap_ms.${KEY[$sup]}.$sc.$v" "$(jq -r .max_gap_ms "$f")"
		done
	done
}

PM2_VERSION=""
[[ -z $PM2 ]] || PM2_VERSION=" (pm2 $(jq -r .version "$(dirname "$PM2")/../pm2/package.json" 2>/dev/null || echo "?"))"
cat <<EOF
## Downtime across restarts: a leaking or crashing Node service under load

An unmodified Node app (\`http.createServer(handler).listen(PORT)\`, no signal
handler; \`bench/apps/\`) restarted by its supervisor while two loadgens
(\`bench/loadgen\`) run at once for $SECS s: $CLIENTS clients each, every client one
GET every $INTERVAL_MS ms (or at once after a slower one), 2 s deadline; one opens a
connection per request (**fresh**), the other keeps its connections (**keep-alive**).
Rows: crinit with \`--listen tcp://127.0.0.1:$PORT\` (it holds the socket across
restarts; the app still calls \`listen($PORT)\`) and without it, both with
\`--restart-delay 100ms --min-uptime 5s\`; pm2-runtime$PM2_VERSION in fork mode and in
cluster mode with 2 instances (\`-i 2\`), with \`PM2_WORKER_INTERVAL=1000\`.
Each supervisor is PID 1 of its own PID namespace.

- **restarts**: distinct pids that answered either loadgen, less the instances (1, or
  2 for \`-i 2\`); both rows of a supervisor share the run and the count.
- **failed / restart**: failed requests over restarts. At $((CLIENTS * 1000 / INTERVAL_MS)) requests/s
  offered per loadgen, $CLIENTS failures are about $INTERVAL_MS ms without service.
- **longest gap**: the longest time between two successful answers (any client).
- **latency**: of the successful requests, connect included; failures are counted,
  not timed. Kinds of failure: connection refused / reset or closed before a
  complete answer / no answer within 2 s / status other than 200 / other.

### Leak: 20 MiB/s, restarted at 200 MiB

crinit \`--rss-limit 200MiB\` (RSS sampled every 1 s, 2 samples over); pm2
\`--max-memory-restart 200M\` (which pm2 carries out as a reload: in cluster mode
the new instance starts before the old one stops).

EOF
table leak
cat <<EOF

### Crash: \`process.exit(1)\` 7 to 9 s after each start

EOF
table crash
cat <<EOF

- A process that stops without closing its connections (killed, crashed, or
  a pm2 fork-mode restart) fails the next request of every keep-alive client
  connected to it: about $CLIENTS resets per restart, whatever holds the socket.
- In cluster mode, node's cluster master closes the shared socket when no
  worker is left: a crash of both instances at about the same time is refused,
  one alone costs only what was in flight. The crash times are random (7 to 9 s),
  so this row moves from run to run.
EOF
echo
for n in "${NOTES[@]}"; do printf '%s\n\n' "$n"; done
