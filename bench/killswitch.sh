#!/usr/bin/env bash
# bench/killswitch.sh: how soon a leaking app is caught and how soon it serves
# again, crinit's RSS kill-switch against pm2-runtime's max_memory_restart.
#
# The example app (examples/app/server.js) runs under each supervisor, as PID
# 1 of a new PID namespace, with a 200 MiB limit. Once it answers, one POST
# /leak?mb_per_s=20 to its admin port makes it grow 20 MB/s (so the restarted
# app does not leak again) and log {"event":"rss","rss_bytes":..,"ts":..}
# every 500 ms. A poller GETs /api/reportes every 20 ms and notes which pid
# answered. Per run:
#   detection = kill - crossing: crossing is the app's first "rss" line over
#               the limit; the kill is crinit's "stopping child" line, or for
#               pm2 (whose log has no milliseconds) the app's own "signal"
#               line, which it writes when pm2's SIGINT arrives
#   recovery  = first answer from a new pid - kill
# Prints a Markdown section on stdout.
#
# Needs root (unshare --pid), node, curl, jq. Environment:
#   RUNS=3           runs per supervisor
#   CRINIT           crinit binary to use (default: built from this tree)
#   PM2_RUNTIME      pm2-runtime to use (default: npm install into TMP; if
#                    that fails, pm2 is left out)
#   RESULTS          file to append "key value" results to (see lib.sh)
NAME=killswitch
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-3}
LIMIT=$((200 * 1024 * 1024))
PORT=4520 ADMIN_PORT=4521
APP=$ROOT/examples/app/server.js
for tool in unshare node curl jq; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CR=$(crinit_bin)
PM2=$(pm2_runtime) || { log "killswitch: pm2 not available, left out"; PM2=""; }

# The supervisors: name -> command line. pm2's worker checks memory every
# PM2_WORKER_INTERVAL ms (30000 by default); it runs once as shipped and once
# at crinit's 1 s.
NAMES=(crinit)
declare -A CMD=([crinit]="$CR --rss-limit 200MiB --health-addr 127.0.0.1:0 -- node $APP")
declare -A ENV=([crinit]="")
if [[ -n $PM2 ]]; then
	cat >"$TMP/ecosystem.config.js" <<-EOF
		module.exports = { apps: [{ name: 'app', script: '$APP', max_memory_restart: '200M',
		  env: { PORT: '$PORT', ADMIN_PORT: '$ADMIN_PORT', HOST: '127.0.0.1' } }] };
	EOF
	NAMES+=("pm2-runtime" "pm2-runtime, 1 s worker")
	CMD["pm2-runtime"]="$PM2 $TMP/ecosystem.config.js"
	CMD["pm2-runtime, 1 s worker"]=${CMD["pm2-runtime"]}
	ENV["pm2-runtime"]="" ENV["pm2-runtime, 1 s worker"]="PM2_WORKER_INTERVAL=1000"
fi

URL="http://127.0.0.1:$PORT/api/reportes?limit=1"
# answer: the pid in the app's answer, or nothing.
answer() {
	local body
	body=$(curl -s --max-time 0.5 "$URL" || true)
	[[ $body =~ \"pid\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
# poll FILE: every 20 ms, "time_us pid" (pid "-" when no answer).
poll() {
	local pid
	while :; do
		pid=$(answer) || pid=-
		echo "${EPOCHREALTIME/./} $pid"
		sleep 0.02
	done >"$1"
}

# run NAME: one run; appends "detection_ms recovery_ms rss_at_kill_MiB" to res.NAME.
run() {
	local name=$1 out=$TMP/out polls=$TMP/polls old="" i
	rm -f "$out" "$polls" && rm -rf "$PM2_HOME"
	# shellcheck disable=SC2086 # ENV and CMD are word lists, split on purpose
	PORT=$PORT ADMIN_PORT=$ADMIN_PORT HOST=127.0.0.1 ns_start "$out" env ${ENV[$name]} ${CMD[$name]}
	for ((i = 0; i < 400; i++)); do   # 20 s to answer
		old=$(answer) && break
		kill -0 "$INIT" 2>/dev/null || break
		sleep 0.05
	done
	[[ -n $old ]] || { tail -n 20 "$out" >&2; die "$name: the app did not answer within 20 s"; }
	poll "$polls" &
	EXTRA_PIDS+=($!)
	curl -s -o /dev/null --max-time 2 -X POST "http://127.0.0.1:$ADMIN_PORT/leak?mb_per_s=20" || die "$name: POST /leak failed"
	for ((i = 0; i < 1800; i++)); do   # 90 s for the kill and the restart
		awk -v old="$old" '$2 != "-" && $2 != old { found = 1 } END { exit !found }' "$polls" && break
		kill -0 "$INIT" 2>/dev/null || { tail -n 20 "$out" >&2; die "$name: the supervisor exited"; }
		sleep 0.05
	done
	kill -KILL "${EXTRA_PIDS[-1]}" 2>/dev/null || true   # the poller
	wait "${EXTRA_PIDS[-1]}" 2>/dev/null || true
	unset 'EXTRA_PIDS[-1]'
	ns_stop
	# One jq program over the mixed log (app lines, crinit's JSON lines, pm2's
	# plain lines, skipped) and the poller's lines.
	jq -Rnr --argjson old "$old" --argjson limit "$LIMIT" --arg kind "${name%%,*}" --rawfile polls "$polls" '
		def ms: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") | ((.s + "Z") | fromdateiso8601) * 1000 + (((.f // "") + "000")[0:3] | tonumber);
		[inputs | fromjson? // empty] as $l
		| ($l | map(select(.event == "rss" and .pid == $old))) as $rss
		| (if $kind == "crinit" then $l | map(select(.["@message"] == "stopping child")) | first | .["@timestamp"] | ms
		   else $l | map(select(.event == "signal" and .pid == $old)) | first | .ts end) as $kill
		| ($rss | map(select(.ts <= $kill))) as $before
		# The first line over the limit; if the kill came before any, the
		# crossing extrapolated from the last two lines (the leak is linear).
		| (($before | map(select(.rss_bytes > $limit)) | first | .ts)
		   // ($before[-2:] | if length < 2 then null
		       else .[1].ts + ($limit - .[1].rss_bytes) * (.[1].ts - .[0].ts) / (.[1].rss_bytes - .[0].rss_bytes) | floor end)) as $cross
		| ($before | last | .rss_bytes / 1048576) as $rsskill
		| ($polls | split("\n") | map(split(" ") | select(length == 2 and .[1] != "-" and .[1] != ($old | tostring)))
		   | map(.[0] | tonumber / 1000) | map(select(. > $kill)) | first) as $serve
		| if $cross == null or $kill == null or $serve == null then error("incomplete run: cross=\($cross) kill=\($kill) serve=\($serve)")
		  else "\($kill - $cross) \($serve - $kill | floor) \($rsskill | floor)" end
	' "$out" >>"$TMP/res.$name" || { tail -n 30 "$out" >&2; die "$name: could not read the run's timings"; }
}

for ((r = 0; r < RUNS; r++)); do
	for n in "${NAMES[@]}"; do
		log "killswitch: $n, run $((r + 1))/$RUNS"
		run "$n"
	done
done

cat <<EOF
## Memory kill-switch: detection and recovery

The example app, growing 20 MB/s after one \`POST /leak?mb_per_s=20\`, past a
200 MiB limit: crinit \`--rss-limit 200MiB\` (defaults: \`--rss-interval 1s\`,
\`--rss-grace 2\`, \`--restart-delay 1s\`); pm2-runtime with \`max_memory_restart: '200M'\`
in an ecosystem file, as shipped (its worker checks memory every 30 s) and with
\`PM2_WORKER_INTERVAL=1000\`. $RUNS runs each; times in ms, min / median / max.

- **detection**: from the app's first \`rss\` line over 200 MiB to the kill (crinit's
  \`stopping child\` line; for pm2 the app's own line on receiving pm2's SIGINT).
  The app logs its RSS every 500 ms, so the real crossing is 0–500 ms before
  that line: detection is known to ±500 ms, and understated rather than overstated.
  When the kill comes before any line over the limit, the crossing is extrapolated
  from the last two lines (the leak is linear).
- **recovery**: from the kill to the first successful \`GET /api/reportes\` answered by
  a new pid (polled every 20 ms). crinit waits \`--restart-delay\` (1 s) before the
  restart; pm2 restarts at once.
- **RSS at kill**: the app's last \`rss\` line before the kill.

| supervisor | detection ms (min / median / max) | recovery ms (min / median / max) | RSS at kill, MiB (median) |
|---|--:|--:|--:|
EOF
for n in "${NAMES[@]}"; do
	read -r dlo dmed dhi _ < <(cut -d' ' -f1 "$TMP/res.$n" | stats)
	read -r rlo rmed rhi _ < <(cut -d' ' -f2 "$TMP/res.$n" | stats)
	read -r _ kmed _ < <(cut -d' ' -f3 "$TMP/res.$n" | stats)
	printf '| %s | %s / **%s** / %s | %s / **%s** / %s | %s |\n' "$n" "$dlo" "$dmed" "$dhi" "$rlo" "$rmed" "$rhi" "$kmed"
	key=${n%%,*} && [[ $n == *worker ]] && key=$key-1s
	result "killswitch.detect_ms.$key" "$dmed"
	result "killswitch.detect_max_ms.$key" "$dhi"
	result "killswitch.recover_ms.$key" "$rmed"
done
[[ -n $PM2 ]] || printf '\n_pm2-runtime left out: npm could not install pm2._\n'
echo
