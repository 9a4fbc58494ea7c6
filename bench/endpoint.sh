#!/usr/bin/env bash
# bench/endpoint.sh: load on crinit's HTTP endpoint (/healthz, /metrics).
#
# Runs crinit as PID 1 of a new PID namespace with --health-addr, supervising
# the example app, drives each endpoint with wrk (2 threads, 100 connections,
# 10 s) and reports throughput, latency percentiles, errors and crinit's own
# RSS before and after each run as a Markdown table on stdout.
#
# Needs root (unshare --pid, apt-get), node and curl. Environment:
#   DURATION=10s  length of each wrk run
#   CRINIT        crinit binary to load (default: built from this tree)
set -euo pipefail

DURATION=${DURATION:-10s}
ADDR=127.0.0.1:9760                 # crinit's endpoint
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/crinit-endpoint.XXXXXX")
UPID="" CPID=""                     # host PIDs of unshare and of crinit (its only child)

log() { printf '%s\n' "$*" >&2; }   # progress, kept off the report
die() { log "endpoint.sh: $*"; [[ ! -s $TMP/crinit.log ]] || tail -n 20 "$TMP/crinit.log" >&2; exit 1; }

# cleanup: stop crinit the way docker stop would (SIGTERM, so it stops node
# and reaps everything), then make sure: SIGKILL to crinit ends the whole
# namespace, and unshare, its parent, exits and is reaped here.
cleanup() {
	if [[ -n $CPID ]]; then
		kill -TERM "$CPID" 2>/dev/null || true
		for _ in {1..50}; do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CPID" 2>/dev/null || true
	fi
	[[ -z $UPID ]] || { kill -KILL "$UPID" 2>/dev/null || true; wait "$UPID" 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. tools: wrk from Debian if missing; crinit built from this tree
if ! command -v wrk >/dev/null; then
	log "installing wrk..."
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >"$TMP/apt.log" 2>&1 ||
		{ cat "$TMP/apt.log" >&2; die "could not install wrk"; }
fi
for tool in unshare node curl; do command -v "$tool" >/dev/null || die "$tool is missing"; done
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
if [[ -n ${CRINIT:-} ]]; then
	cp "$CRINIT" "$TMP/crinit"   # run.sh's build
else
	log "building crinit..."
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$TMP/crinit" ./cmd/crinit)
fi

# --- 2. crinit as PID 1 of a PID namespace, supervising the example app
PORT=4400 ADMIN_PORT=4401 HOST=127.0.0.1 \
	unshare --pid --fork --mount-proc --kill-child \
	"$TMP/crinit" --health-addr "$ADDR" -- node "$ROOT/examples/app/server.js" >"$TMP/crinit.log" 2>&1 &
UPID=$!

# Wait (20 s at most) for crinit's host PID, then for /healthz to answer 200.
deadline=$((SECONDS + 20))
until CPID=$(cat /proc/"$UPID"/task/*/children 2>/dev/null) && [[ -n $CPID ]]; do
	kill -0 "$UPID" 2>/dev/null || die "unshare exited before starting crinit"
	((SECONDS < deadline)) || die "crinit did not start within 20 s"
	sleep 0.05
done
CPID=${CPID%% *}
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$ADDR/healthz" || true) == 200 ]]; do
	kill -0 "$CPID" 2>/dev/null || die "crinit exited before /healthz answered"
	((SECONDS < deadline)) || die "/healthz did not answer 200 within 20 s"
	sleep 0.1
done
log "crinit is up: host pid $CPID, endpoint http://$ADDR"

# rss: crinit's VmRSS in KiB (the init alone, not node).
rss() { awk '/^VmRSS:/ { print $2 }' /proc/"$CPID"/status; }

# bench PATH: one wrk run; appends a table row. wrk counts HTTP statuses of
# 400 and above as "Non-2xx or 3xx responses"; socket errors are the sum of
# its connect, read, write and timeout counts.
ROWS=()
bench() {
	local path=$1 before after out
	before=$(rss)
	log "wrk $path for $DURATION..."
	out=$(wrk -t2 -c100 -d"$DURATION" --latency "http://$ADDR$path") || die "wrk $path failed"
	printf '%s\n' "$out" >"$TMP/wrk${path//\//.}.txt"
	kill -0 "$CPID" 2>/dev/null || die "crinit died during the $path run"
	after=$(rss)
	ROWS+=("$(awk -v path="$path" -v before="$before" -v after="$after" '
		/^Requests\/sec:/            { rps = $2 }
		/^ +50% /                    { p50 = $2 }
		/^ +99% /                    { p99 = $2 }
		/Non-2xx or 3xx responses:/  { non2xx = $NF }
		/Socket errors:/             { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
		/requests in/                { total = $1 }
		END { printf "| %s | %s | %s | %s | %s | %d / %d | %s | %s |", path, total, rps, p50, p99, non2xx, sock, before, after }
	' <<<"$out")")
}
bench /healthz
bench /metrics

# --- 3. report
cat <<EOF
crinit endpoint under load: wrk -t2 -c100 -d$DURATION --latency, $(nproc) CPUs, $(uname -r), $(wrk --version 2>&1 | head -n1 | cut -d" " -f1-2 || true)

| endpoint | requests | requests/s | p50 | p99 | errors (non-2xx / socket) | crinit RSS before (KiB) | crinit RSS after (KiB) |
|---|---|---|---|---|---|---|---|
EOF
printf '%s\n' "${ROWS[@]}"
# For run.sh's table: /metrics requests/s, and crinit's RSS growth over that run.
[[ -z ${RESULTS:-} ]] || printf '%s\n' "${ROWS[@]}" | awk -F' *[|] *' '$2 == "/metrics" {
	print "endpoint.metrics_rps", int($4); print "endpoint.metrics_rss_growth_kib", $9 - $8 }' >>"$RESULTS"
