#!/usr/bin/env bash
# bench/run.sh: every benchmark in one go, crinit side by side with tini and
# dumb-init and, where the feature exists, pm2-runtime and supervisord.
# Writes BENCHMARKS.md at the repository root.
#
#   bash bench/run.sh
#
# Installs what is missing (Debian: tini, dumb-init, hyperfine, wrk, jq,
# supervisor, curl; npm: pm2, into a scratch folder that goes away at the
# end), builds crinit once from the working tree, runs the scripts below, each
# printing a Markdown section, and writes their sections, the machine, a
# pass/fail table against the minimum bars and the caveats. About 15 minutes.
#
#   idle.sh        binary size, idle RSS, start overhead
#   signal.sh      signal forwarding latency
#   reap.sh        reaping 5000 orphans
#   killswitch.sh  memory kill-switch: detection and recovery (crinit, pm2-runtime)
#   idlecpu.sh     idle CPU with a 50-process tree (also supervisord, pm2-runtime)
#   endpoint.sh    crinit's /healthz and /metrics under wrk
#   downtime.sh    requests lost per restart under load (crinit with and without
#                  --listen, pm2-runtime fork and cluster mode)
#
# Needs root (unshare --pid, apt-get), go and node. Environment: OUT=file
# (default BENCHMARKS.md at the root); each script's own variables (RUNS,
# ROUNDS, ...) pass through to all of them.
NAME=run
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/BENCHMARKS.md}
START=$SECONDS

# --- 1. tools
[[ $(id -u) == 0 ]] || die "needs root (unshare --pid, apt-get)"
command -v go >/dev/null || die "go is missing"
declare -A PKG=([tini]=tini [dumb-init]=dumb-init [hyperfine]=hyperfine [wrk]=wrk [jq]=jq
	[supervisord]=supervisor [curl]=curl [unshare]=util-linux [node]=nodejs [npm]=npm)
missing=()
for cmd in "${!PKG[@]}"; do command -v "$cmd" >/dev/null || missing+=("${PKG[$cmd]}"); done
((${#missing[@]} == 0)) || apt_install "${missing[@]}" || die "could not install ${missing[*]}"
PM2_RUNTIME=$(pm2_runtime) || { log "pm2 could not be installed: left out"; PM2_RUNTIME=none; }

log "building crinit..."
VERSION=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo dev)
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$TMP/crinit" ./cmd/crinit)
# One binary and one pm2 for every script; crinit's endpoint on a free port,
# so that no run clashes with another crinit on this machine.
export CRINIT=$TMP/crinit PM2_RUNTIME RESULTS=$TMP/results CRINIT_HEALTH_ADDR=127.0.0.1:0
: >"$RESULTS"

# --- 2. the measures, one script each
FAILED=() TIMES="" SECTION=""
# On exit, the script in progress gets SIGTERM, so that it ends what it
# started (its own traps), before TMP goes away.
stop_section() { [[ -z $SECTION ]] || { kill -TERM "$SECTION" 2>/dev/null || true; wait "$SECTION" 2>/dev/null || true; }; }
trap 'stop_section; cleanup' EXIT
# section SCRIPT: run bench/SCRIPT; its report goes to TMP/SCRIPT.md, its
# progress to the terminal. A failure becomes a note in the report. It runs
# in the background so that a signal to run.sh is handled at once.
section() {
	local s=$1 t0=$SECONDS rc=0
	log "== $s"
	bash "$ROOT/bench/$s" >"$TMP/$s.md" 2> >(tee "$TMP/$s.err" >&2) &
	SECTION=$!
	wait "$SECTION" || rc=$?
	SECTION=""
	if ((rc != 0)); then
		FAILED+=("$s")
		# shellcheck disable=SC2016 # the backticks are Markdown
		printf '## %s\n\n_failed (exit %d); the end of its output:_\n\n```\n%s\n```\n\n' \
			"$s" "$rc" "$(tail -n 15 "$TMP/$s.err")" >"$TMP/$s.md"
	fi
	TIMES="$TIMES${TIMES:+; }$s $((SECONDS - t0)) s"
}
section idle.sh
section signal.sh
section reap.sh
section killswitch.sh
section idlecpu.sh
section endpoint.sh
section downtime.sh

# --- 3. pass/fail against the minimum bars
get() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$RESULTS"; }
# bar NAME VALUE TEST SHOWN: one row; TEST is an awk condition on v.
bar() {
	local verdict="not measured"
	[[ -z $2 ]] || verdict=$(awk -v v="$2" "BEGIN { print ($3) ? \"**pass**\" : \"**FAIL**\" }")
	echo "| $1 | ${4:-$2} | $verdict |"
}
summary() {
	local rss trss size st sw s r b d dmax c c1 rps grow stop p99
	rss=$(get idle.rss_kib.crinit) trss=$(get idle.rss_kib.tini) size=$(get idle.size_bytes.crinit)
	st=$(get idle.start_ratio.crinit) sw=$(get signal.ratio.crinit_warn) s=$(get signal.ratio.crinit)
	r=$(get reap.ratio.crinit) b=$(get reap.burst_ratio.crinit)
	d=$(get killswitch.detect_ms.crinit) dmax=$(get killswitch.detect_max_ms.crinit)
	c=$(get idlecpu.pct.crinit) c1=$(get idlecpu.pct.crinit-1) rps=$(get endpoint.metrics_rps) grow=$(get endpoint.metrics_rss_growth_kib)
	stop=$(get stop.ratio.crinit) p99=$(get signal.p99_ratio.crinit)
	local rr=""
	[[ -z $rss || -z $trss ]] || rr=$(awk -v a="$rss" -v b="$trss" 'BEGIN { printf "%.2f", a / b }')
	echo "| goal | crinit, this run | verdict |"
	echo "|---|---|---|"
	bar "idle VmRSS ≤ 4× tini" "$rr" "v <= 4" "${rr:+$rr× ($rss KiB, tini $trss KiB)}"
	bar "binary ≤ 6 MB (6000000 bytes)" "$size" "v <= 6000000" "${size:+$size bytes}"
	bar "\`INIT true\` ≤ 2× tini (median)" "$st" "v <= 2" "${st:+$st×}"
	bar "SIGTERM → init exited ≤ 2× tini (median)" "$stop" "v <= 2" "${stop:+$stop×}"
	bar "SIGUSR1 forwarding median ≤ 1.3× tini -g, \`--log-level warn\`" "$sw" "v <= 1.3" "${sw:+$sw×}"
	bar "SIGUSR1 forwarding median ≤ 1.3× tini -g, default logging" "$s" "v <= 1.3" "${s:+$s×}"
	bar "SIGUSR1 forwarding p99 ≤ 2× tini -g, default logging" "$p99" "v <= 2" "${p99:+$p99× (median of per-run ratios)}"
	bar "reaping 5000 orphans, burst ≤ 1.1× tini" "$b" "v <= 1.1" "${b:+$b× (median of per-run ratios; first fork to none left: $r×)}"
	bar "idle CPU ≤ 0.2 % of a core, 50-process tree" "$c" "v <= 0.2" "${c:+$c % (median of 30 s windows)}"
	bar "idle CPU ≤ 0.05 % of a core, 1-process tree" "$c1" "v <= 0.05" "${c1:+$c1 % (median of 30 s windows)}"
	bar "kill-switch detection at the defaults: median ≤ 600 ms" "$d" "v <= 600" "${d:+median $d ms (the crossing may be up to 0.5 s earlier)}"
	bar "kill-switch detection at the defaults: max ≤ 1200 ms" "$dmax" "v <= 1200" "${dmax:+max $dmax ms}"
	bar "\`/metrics\` under wrk -c100 ≥ 5,000 requests/s" "$rps" "v >= 5000" "${rps:+$rps requests/s, RSS of crinit +${grow} KiB over the run}"
}

# --- 4. BENCHMARKS.md
ELAPSED=$((SECONDS - START))
version() { "$@" 2>&1 | head -n1 || true; }
{
	cat <<-EOF
		# Benchmarks

		crinit side by side with tini and dumb-init and, where the feature exists,
		pm2-runtime and supervisord. Generated by \`bash bench/run.sh\`
		($(date -u '+%F %T UTC'), crinit \`$VERSION\`); do not edit by hand, run it again.

		## How to run

		\`\`\`sh
		bash bench/run.sh          # everything, about 8 minutes; writes BENCHMARKS.md
		bash bench/signal.sh       # or one measure alone: it prints its Markdown section
		\`\`\`

		As root (PID namespaces through \`unshare\`), with go and node. run.sh installs what is
		missing (Debian: tini, dumb-init, hyperfine, wrk, jq, supervisor; npm: pm2 into a
		scratch folder), builds crinit from the working tree once
		(\`CGO_ENABLED=0 go build -trimpath -ldflags "-s -w"\`) and runs one script per
		measure (\`bench/idle.sh\`, \`signal.sh\`, \`reap.sh\`, \`killswitch.sh\`,
		\`idlecpu.sh\`, \`endpoint.sh\`; the Go helpers \`bench/sigchild\` and
		\`bench/reapchild\` are built by file name, outside the module's packages). Every
		init runs as PID 1 of its own \`unshare --pid --fork --mount-proc --kill-child\`;
		everything started is killed on exit. The scripts' variables (\`RUNS\`, \`ROUNDS\`,
		\`N\`, \`WINDOWS\`, ...) are documented at the top of each.

		## Machine

		| | |
		|---|---|
		| CPUs (nproc) | $(nproc) × $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) |
		| memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |
		| kernel | $(uname -r) |
		| OS | Debian $(cat /etc/debian_version 2>/dev/null || echo "?") |
		| go | $(go version | cut -d' ' -f3-) |
		| node | $(node --version) |
		| tini, dumb-init | $(version tini --version), $(version dumb-init --version) |
		| pm2, supervisord | $([[ $PM2_RUNTIME == none ]] && echo "not installed" || echo "pm2 $(jq -r .version "$(dirname "$PM2_RUNTIME")/../pm2/package.json")"), $(version supervisord --version) |
		| hyperfine, wrk | $(version hyperfine --version), $(version wrk --version | cut -d' ' -f1-2) |

		## Pass/fail against the goals (footprint and speed)

	EOF
	summary
	echo
	((${#FAILED[@]} == 0)) || printf '_Failed scripts: %s (see their sections)._\n\n' "${FAILED[*]}"
	echo "run.sh took $((ELAPSED / 60)) min $((ELAPSED % 60)) s ($TIMES)."
	echo
	sed -E 's/^(#+) /#\1 /' "$TMP/idle.sh.md"   # idle.sh's headings one level down
	echo
	cat "$TMP/signal.sh.md" "$TMP/reap.sh.md" "$TMP/killswitch.sh.md" "$TMP/idlecpu.sh.md"
	if [[ " ${FAILED[*]} " == *" endpoint.sh "* ]]; then cat "$TMP/endpoint.sh.md"
	else printf '## crinit'"'"'s endpoint under load\n\nNo counterpart in tini or dumb-init.\n\n'; cat "$TMP/endpoint.sh.md"; echo; fi
	cat "$TMP/downtime.sh.md"
	echo
	cat <<-'EOF'
		## Caveats

		- **Noisy machine.** A shared VM with 2 vCPUs, other jobs running beside; absolute
		  times move from run to run. Read the ratios to tini, taken within the same round
		  (median of the per-round ratios), and the min–max spreads.
		- **Not Docker.** Each init is PID 1 of a PID namespace made by `unshare`, with no
		  cgroup limit, seccomp or overlay filesystem; `unshare`'s own cost is in every
		  start-overhead row alike.
		- **Signals.** The child is a Go program: Go's own delivery (signal handler, then
		  the `os/signal` goroutine) is in every row, "no init" included; the init's share
		  is the "added" column. tini forwards to the child unless `-g`; crinit and
		  dumb-init to the child's process group; the child is alone in its group, so
		  both modes reach the same process. crinit's default logging writes one line
		  per forwarded signal.
		- **Reaping.** The total is mostly the helper's own forking: every init here
		  keeps up, the orphans are gone within a millisecond of the last fork, and the
		  ratio moves with the noise. The burst (zombies piled up behind a stopped init)
		  and the init's CPU time are the init's own cost.
		- **Kill-switch.** The app logs its RSS every 500 ms, so the crossing, and with
		  it the detection time, is known to ±500 ms. pm2's detection depends on where
		  the crossing falls in its worker's cycle (30 s as shipped:
		  `PM2_WORKER_INTERVAL`); crinit's recovery includes its `--restart-delay` (1 s),
		  pm2 restarts at once.
		- **Idle CPU.** The time the supervisor's threads spent on a CPU, from schedstat (ns).
		  All supervisors run at the same time; idle, they barely compete.
		- **RSS.** VmRSS counts the mapped pages of the binary (RssFile), which a second
		  process running the same binary would share; RssAnon is the init's own memory.
	EOF
} >"$OUT"
log "wrote $OUT in $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
((${#FAILED[@]} == 0)) || die "failed: ${FAILED[*]}"
