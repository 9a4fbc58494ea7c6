//go:build runtimes

package integration

// crinit on a real cgroup v2 kernel: Debian's linux-image-amd64 booted
// under qemu (no KVM needed) with an initramfs of busybox-static, crinit
// and node. Its /init runs each scenario as PID 1's child in a memory
// cgroup and prints the console lines the tests read. `make test-runtimes`
// runs it.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crinit/crinit/limits"
)

// v2Cache holds the kernel and packages between runs.
var v2Cache = filepath.Join(os.TempDir(), "crinit-v2-cache")

// v2Init is the VM's /init: each scenario between "== NAME start" and
// "== NAME end EXIT". run puts a command into a fresh cgroup with a
// memory limit and runs it there.
const v2Init = `#!/bin/sh
export PATH=/usr/local/bin:/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 none /sys/fs/cgroup
ip link set lo up
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
echo 1 > /proc/sys/kernel/printk # no kernel message (an OOM kill's) cuts into the scenarios' lines
C=/usr/local/bin/crinit
run() { # NAME LIMIT_MIB CMD...: CMD in cgroup NAME with memory.max LIMIT
	name=$1 mib=$2; shift 2
	mkdir -p /sys/fs/cgroup/$name
	[ "$mib" = 0 ] || echo $((mib*1024*1024)) > /sys/fs/cgroup/$name/memory.max
	echo "== $name start $(cut -d" " -f1 /proc/uptime)"
	sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' /sys/fs/cgroup/$name "$@" </dev/null
	st=$?; echo "== $name end $st $(cut -d" " -f1 /proc/uptime)"
}
# bg NAME LIMIT_MIB CMD...: CMD in cgroup NAME in the background; $crinit is its PID
bg() {
	name=$1 mib=$2; shift 2
	mkdir -p /sys/fs/cgroup/$name
	echo $((mib*1024*1024)) > /sys/fs/cgroup/$name/memory.max
	echo "== $name start $(cut -d" " -f1 /proc/uptime)"
	sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' /sys/fs/cgroup/$name "$@" </dev/null &
	crinit=$!
}
LEAK='const a = []; setInterval(() => a.push(Buffer.alloc(1 << 20, 1)), 20)'
run V1 96 $C --health-addr "" --rss-limit auto --max-old-space-size auto -- sleep 1
run V2 96 $C --health-addr "" --restart never --rss-limit 48MiB --rss-interval 250ms -- node -e "$LEAK"
run V3 96 $C --health-addr "" --restart never --rss-limit 0 -- node -e 'Buffer.alloc(300 << 20, 1); setTimeout(() => {}, 60000)'
run V4 256 $C --health-addr "" --restart never --rss-limit 0 --max-old-space-size 32 -- node -e 'const a = []; for (;;) a.push({ n: a.length, s: "x".repeat(64) })'
mkdir -p /sys/fs/cgroup/pod; echo $((96*1024*1024)) > /sys/fs/cgroup/pod/memory.max
echo +memory > /sys/fs/cgroup/pod/cgroup.subtree_control
run pod/V5 0 $C --health-addr "" --rss-limit auto --max-old-space-size auto -- sleep 1
OOM='Buffer.alloc(300 << 20, 1); setTimeout(() => {}, 60000)'
mkdir -p /sys/fs/cgroup/V6 /sys/fs/cgroup/V6u
echo 1 > /sys/fs/cgroup/V6/memory.oom.group; echo 1 > /sys/fs/cgroup/V6u/memory.oom.group
run V6 96 $C --health-addr "" --restart never --rss-limit 0 -- node -e "$OOM"
run V6u 96 su -s /bin/sh node -c 'exec "$0" --health-addr "" --nofile 1024 --restart never --rss-limit 0 -- node -e "$1"' $C "$OOM"
# V7: the soak's faults in turn, driven by /v7.js against crinit's /status
bg V7 256 $C --health-addr 127.0.0.1:9090 --nofile 1024 --fd-limit 80% --rss-grace 5 \
	--rss-limit 160MiB --probe-url 'http://127.0.0.1:4000/api/reportes?limit=1' --probe-interval 2s --probe-timeout 2s \
	--probe-retries 3 --probe-start-period 10s --restart-delay 50ms --restart-delay-max 200ms --restart-max 1000 \
	--min-uptime 1s --kill-timeout 1s --reload-signal SIGHUP -- node /app/server.js
node /v7.js $crinit
kill -TERM $crinit
wait $crinit
st=$?; echo "== V7 end $st $(cut -d" " -f1 /proc/uptime)"
# V8: a grandchild OOM-killed, logged as it happens, beside the kernel's line
GRAND='require("child_process").spawn(process.execPath, ["-e", process.argv[1]], {stdio: "inherit"}); setInterval(() => {}, 1000)'
bg V8 128 $C --health-addr 127.0.0.1:9098 --restart never --rss-limit 0 -- node -e "$GRAND" "$OOM"
node /vm.js wait http://127.0.0.1:9098/metrics 'event="oom_kill"} (\d+)' 0
kill -TERM $crinit; wait $crinit; status=$?
node /vm.js kmsg
echo "== V8 end $status $(cut -d" " -f1 /proc/uptime)"
# V9: throttled over memory.high, never OOM-killed: restarted for its pressure
STALL='const a = []; setInterval(() => { for (let i = 0; i < 4 && a.length < 200; i++) a.push(Buffer.alloc(1 << 20, 1)) }, 10)'
mkdir -p /sys/fs/cgroup/V9; echo $((64*1024*1024)) > /sys/fs/cgroup/V9/memory.high
bg V9 256 $C --health-addr 127.0.0.1:9099 --restart never --rss-limit 0 --memory-pressure-limit 30%/10s -- node -e "$STALL"
node /vm.js rise http://127.0.0.1:9099/metrics 'kind="full"} ([0-9.e+-]+)' || kill -TERM $crinit
wait $crinit; st=$?; echo "== V9 end $st $(cut -d" " -f1 /proc/uptime)"
# V10: memory.max from 256 MiB to 512 MiB under a running crinit
bg V10 256 $C --health-addr 127.0.0.1:9100 --rss-limit auto --max-old-space-size auto -- node -e 'setInterval(() => {}, 1000)'
node /vm.js wait http://127.0.0.1:9100/status '"state": "running"'
echo $((512*1024*1024)) > /sys/fs/cgroup/V10/memory.max
node /vm.js wait http://127.0.0.1:9100/status '"rss_limit_bytes": (\d+)' 200000000
kill -TERM $crinit; wait $crinit; st=$?; echo "== V10 end $st $(cut -d" " -f1 /proc/uptime)"
# V11: near pids.max, with a zombie its living parent does not reap
echo +pids > /sys/fs/cgroup/cgroup.subtree_control; mkdir -p /sys/fs/cgroup/V11; echo 64 > /sys/fs/cgroup/V11/pids.max
bg V11 256 $C --health-addr 127.0.0.1:9101 -- sh -c 'for i in $(seq 45); do sleep 600 & done; sh -c "sleep 0 & exec sleep 600" & wait'
node /vm.js wait http://127.0.0.1:9101/metrics '^crinit_cgroup_pids_current (\d+)' 51
kill -TERM $crinit; wait $crinit; st=$?; echo "== V11 end $st $(cut -d" " -f1 /proc/uptime)"
echo "== done"
poweroff -f
`

// v2Prepare fetches the kernel (extracted, never installed), qemu, cpio
// and busybox-static, and builds the initramfs.
func v2Prepare(t *testing.T) (kernel, initrd string) {
	t.Helper()
	requireRoot(t)
	requireNode(t)
	for _, pkg := range []string{"qemu-system-x86_64:qemu-system-x86", "cpio:cpio", "busybox:busybox-static"} {
		cmd, name, _ := strings.Cut(pkg, ":")
		if _, err := exec.LookPath(cmd); err != nil {
			_ = exec.Command("apt-get", "update", "-qq").Run() // a fresh machine has no package lists
			install := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", name)
			install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := install.CombinedOutput(); err != nil {
				t.Fatalf("install %s: %v\n%s", name, err, out)
			}
		}
	}
	kernels, _ := filepath.Glob(filepath.Join(v2Cache, "k/boot/vmlinuz-*"))
	if len(kernels) == 0 {
		script := `set -e; mkdir -p "$1"; cd "$1"; apt-get download linux-image-amd64 >/dev/null 2>&1 || { apt-get update -qq; apt-get download linux-image-amd64 >/dev/null; }
			dep=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
			apt-get download "$dep" >/dev/null; dpkg-deb -x "$dep"_*.deb k`
		if out, err := exec.Command("sh", "-c", script, "sh", v2Cache).CombinedOutput(); err != nil {
			t.Fatalf("fetch the kernel: %v\n%s", err, out)
		}
		kernels, _ = filepath.Glob(filepath.Join(v2Cache, "k/boot/vmlinuz-*"))
	}
	if len(kernels) == 0 {
		t.Fatal("no kernel extracted")
	}
	ir := filepath.Join(t.TempDir(), "ir")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "usr/local/bin"} {
		if err := os.MkdirAll(filepath.Join(ir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, err := ociRootfs() // crinit, node and its libraries, as for runc
	if err != nil {
		t.Fatalf("root filesystem: %v", err)
	}
	busybox, _ := exec.LookPath("busybox")
	script := `set -e; cp -a "$1"/rootfs/. "$2"/
		cp "$3" "$2"/bin/busybox; for a in sh mount mkdir echo cat cut sleep ip seq su poweroff; do ln -sf busybox "$2/bin/$a"; done
		mkdir -p "$2"/app; cp ../../examples/app/server.js "$2"/app/; cp testdata/v7.js testdata/vm.js "$2"/`
	if out, err := exec.Command("sh", "-c", script, "sh", base, ir, busybox).CombinedOutput(); err != nil {
		t.Fatalf("initramfs tree: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(ir, "init"), []byte(v2Init), 0o755); err != nil {
		t.Fatal(err)
	}
	initrd = filepath.Join(t.TempDir(), "initrd.gz")
	pack := exec.Command("sh", "-c", `cd "$1" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$2"`, "sh", ir, initrd)
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("pack the initramfs: %v\n%s", err, out)
	}
	return kernels[0], initrd
}

// The console's scenario markers.
var (
	v2Start = regexp.MustCompile(`== (\S+) start ([0-9.]+)`)
	v2End   = regexp.MustCompile(`== \S+ end (\d+) ([0-9.]+)`)
)

// v2Scenario is what the console says of one scenario.
type v2Scenario struct {
	events []event
	driver []map[string]any // V7's driver's lines
	vm     []map[string]any // vm.js's lines
	other  []string         // any other line: a Go runtime's fatal error, a shell's complaint
	exit   string           // the shell's $? after crinit
	secs   float64          // from start to end, by the VM's uptime
}

// TestV2_Kernel boots the kernel once and checks each scenario.
func TestV2_Kernel(t *testing.T) {
	kernel, initrd := v2Prepare(t)
	// A scenario that hangs must not hang the suite: the VM gets 8 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64", "-m", "1024", "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1")
	// The console is the evidence: it is kept beside the cache, and
	// written as it comes, so that a run can be followed.
	console := filepath.Join(v2Cache, "console.log")
	f, err := os.Create(console)
	if err != nil {
		t.Fatal(err)
	}
	qemu.Stdout, qemu.Stderr = f, f
	err = qemu.Run()
	f.Close()
	out, _ := os.ReadFile(console)
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, out)
	}
	t.Logf("console: %s", console)
	scen := map[string]*v2Scenario{}
	var cur *v2Scenario
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// Kernel messages (an OOM kill's) may cut into a line.
		l := strings.TrimSpace(sc.Text())
		if m := v2Start.FindStringSubmatch(l); m != nil {
			cur = &v2Scenario{}
			scen[filepath.Base(m[1])] = cur
			cur.secs, _ = strconv.ParseFloat(m[2], 64)
		}
		if m := v2End.FindStringSubmatch(l); m != nil && cur != nil {
			end, _ := strconv.ParseFloat(m[2], 64)
			cur.exit, cur.secs, cur = m[1], end-cur.secs, nil
		}
		if i := strings.Index(l, "{\"@level\""); i >= 0 && cur != nil {
			var e event
			if json.Unmarshal([]byte(l[i:]), &e) == nil {
				cur.events = append(cur.events, e)
			}
		}
		if i := strings.Index(l, "{\"vm\""); i >= 0 && cur != nil {
			var d map[string]any
			if json.Unmarshal([]byte(l[i:]), &d) == nil {
				cur.vm = append(cur.vm, d)
			}
		}
		if i := strings.Index(l, "{\"v7\""); i >= 0 && cur != nil {
			var d map[string]any
			if json.Unmarshal([]byte(l[i:]), &d) == nil {
				cur.driver = append(cur.driver, d)
			}
		}
		if cur != nil && l != "" && !strings.Contains(l, "{\"") && !strings.HasPrefix(l, "== ") {
			cur.other = append(cur.other, l)
		}
	}
	if !strings.Contains(string(out), "== done") {
		t.Fatalf("the VM did not finish its scenarios; console:\n%s", out)
	}
	find := func(s *v2Scenario, msg string) []event {
		var evs []event
		for _, e := range s.events {
			if e.msg() == msg {
				evs = append(evs, e)
			}
		}
		return evs
	}
	check := func(name, what string, f func(t *testing.T, s *v2Scenario)) {
		t.Run(name+" "+what, func(t *testing.T) {
			s := scen[name]
			if s == nil {
				t.Fatalf("no output for %s", name)
			}
			f(t, s)
			t.Logf("%s took %.1f s in the VM", name, s.secs)
			if t.Failed() {
				for _, e := range s.events {
					t.Logf("%s: %v", name, e)
				}
				t.Logf("%s: exit %s", name, s.exit)
				for i, l := range s.other {
					if i == 60 {
						t.Logf("%s: %d more lines in the console", name, len(s.other)-i)
						break
					}
					t.Logf("%s| %s", name, l)
				}
			}
		})
	}
	limitFound := func(t *testing.T, s *v2Scenario) {
		cg, auto := find(s, "memory cgroup"), find(s, "auto size")
		if len(cg) != 1 || cg[0].num("version") != 2 || cg[0].num("limit_bytes") != 96*mib || len(auto) != 2 {
			t.Errorf("memory cgroup %v, auto sizes %v; want v2 with the 96 MiB limit and both sizes", cg, auto)
		}
	}
	exitReason := func(reason string) func(t *testing.T, s *v2Scenario) {
		return func(t *testing.T, s *v2Scenario) {
			e := find(s, "child exited")
			if len(e) != 1 || e[0].str("reason") != reason {
				t.Errorf("child exited %v, want one with reason %s", e, reason)
			}
		}
	}
	check("V1", "v2 detection and auto sizes", limitFound)
	check("V2", "rss_limit", exitReason("rss_limit"))
	check("V3", "oom_kill attributed", exitReason("oom_kill"))
	check("V4", "node's heap limit recognised", exitReason("heap_limit"))
	check("V5", "a limit on the parent cgroup only", limitFound)
	check("V6", "memory.oom.group=1, crinit spared (root: CAP_SYS_RESOURCE)", func(t *testing.T, s *v2Scenario) {
		// crinit sets its own oom_score_adj to -1000, which the group kill
		// spares: it logs the kill as it happens and the child's exit.
		spared, kill, exit := find(s, "oom group kill spares crinit"), find(s, "oom kill"), find(s, "child exited")
		if len(spared) != 1 || spared[0].str("setting") != "memory.oom.group" || len(kill) != 1 || kill[0]["group_kill"] != true ||
			len(exit) != 1 || exit[0].str("reason") != "oom_kill" || s.exit != "137" {
			t.Errorf("spared %v, oom kill %v, child exited %v, shell status %s; want crinit spared, the kill and the exit logged", spared, kill, exit, s.exit)
		}
	})
	check("V6u", "memory.oom.group=1, crinit not root: warned, killed with the child", func(t *testing.T, s *v2Scenario) {
		// Without CAP_SYS_RESOURCE crinit cannot protect itself: it warns
		// at start, naming memory.oom.group; the kernel's group kill then
		// ends it with the child, with nothing more logged.
		warn, exit := find(s, "oom group kill ends crinit with the child"), find(s, "child exited")
		if len(warn) != 1 || warn[0].str("setting") != "memory.oom.group" || warn[0].str("@level") != "warn" || len(exit) != 0 || s.exit != "137" {
			t.Errorf("warning %v, child exited %v, shell status %s; want the warning, then crinit killed (137)", warn, exit, s.exit)
		}
	})
	check("V7", "the soak's fault rotation", func(t *testing.T, s *v2Scenario) {
		// One restart per fault with its reason, the last exit SIGTERM's;
		// the driver followed each fault to a serving child, and crinit's
		// endpoint never failed once up.
		want := []string{"rss_limit", "oom_kill", "fd_limit", "probe", "exit", "reload", "shutdown"}
		var got []string
		for _, e := range find(s, "child exited") {
			got = append(got, e.str("reason"))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("exit reasons %v, want %v", got, want)
		}
		for _, d := range s.driver {
			t.Logf("driver: %v", d)
		}
		if n := len(s.driver); n == 0 || s.driver[n-1]["v7"] != "done" || s.driver[n-1]["endpoint_failures"] != 0.0 {
			t.Errorf("the driver did not see every fault through with the endpoint answering")
		}
		if s.exit != "0" {
			t.Errorf("crinit exited %s after SIGTERM, want the app's 0", s.exit)
		}
	})
	check("V8", "a grandchild's OOM kill logged as it happens", func(t *testing.T, s *v2Scenario) {
		kill := find(s, "oom kill")
		if len(kill) != 1 {
			t.Fatalf("oom kill events %v, want one", kill)
		}
		victim := kill[0].num("victim_pid")
		var kernelAt time.Time
		for _, v := range s.vm {
			if v["vm"] == "kmsg" && v["killed_pid"] == float64(victim) {
				kernelAt, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(v["at"]))
			}
		}
		loggedAt, err := time.Parse(time.RFC3339Nano, kill[0].str("@timestamp"))
		if kernelAt.IsZero() || err != nil {
			t.Fatalf("no kernel line for victim %v (vm lines %v), or crinit's time unreadable: %v", victim, s.vm, err)
		}
		lag := loggedAt.Sub(kernelAt)
		t.Logf("kernel killed %v (%s) at %s; crinit logged it %s later", victim, kill[0].str("victim_command"), kernelAt.Format(time.StampMicro), lag)
		if lag < -5*time.Millisecond || lag > 100*time.Millisecond {
			t.Errorf("crinit logged the kill %s after the kernel's line, want within 100 ms", lag)
		}
		if e := find(s, "child exited"); len(e) != 1 || e[0].str("reason") == "oom_kill" {
			t.Errorf("child exited %v: the child itself lived on until SIGTERM", e)
		}
		metrics := vmMetrics(s)
		for _, series := range []string{`crinit_cgroup_memory_pressure_stall_seconds_total{kind="some"}`,
			`crinit_cgroup_memory_pressure_stall_seconds_total{kind="full"}`} {
			if _, ok := metrics[0][series]; !ok {
				t.Errorf("/metrics without %s: %v", series, metrics)
			}
		}
		if metrics[0][`crinit_cgroup_memory_events_total{event="oom_kill"}`] < 1 {
			t.Errorf("/metrics oom_kill events %v, want at least 1", metrics)
		}
	})
	check("V9", "memory pressure: series rising, restarted with reason memory_pressure", func(t *testing.T, s *v2Scenario) {
		m := vmMetrics(s)
		full := `crinit_cgroup_memory_pressure_stall_seconds_total{kind="full"}`
		if len(m) != 2 || !(m[1][full] > m[0][full]) || m[1][`crinit_cgroup_memory_events_total{event="high"}`] < 1 {
			t.Errorf("/metrics %v, want the full stall rising between two readings, and high events", m)
		}
		if e := find(s, "child exited"); len(e) != 1 || e[0].str("reason") != "memory_pressure" {
			t.Errorf("child exited %v, want one with reason memory_pressure", e)
		}
		t.Logf("pressure limit: %v", find(s, "memory pressure limit exceeded"))
	})
	check("V10", "memory.max 256 MiB to 512 MiB followed", func(t *testing.T, s *v2Scenario) {
		e := find(s, "memory limit changed")
		want := int(limits.AutoRSSLimit(512*mib, 0))
		if len(e) != 1 || e[0].num("old_limit_bytes") != 256*mib || e[0].num("limit_bytes") != 512*mib ||
			e[0].num("rss_limit_bytes") != want || e[0].str("@level") != "warn" {
			t.Errorf("memory limit changed %v, want 256 MiB to 512 MiB with rss_limit_bytes %v", e, want)
		}
	})
	check("V11", "pids near pids.max, the zombie's parent named", func(t *testing.T, s *v2Scenario) {
		e := find(s, "pids near limit")
		if len(e) != 1 || e[0].num("pids_max") != 64 || e[0].num("zombies") < 1 ||
			!strings.Contains(fmt.Sprint(e[0]["zombie_parents"]), "sleep 600") {
			t.Errorf("pids near limit %v, want one at pids.max 64 naming the sleep that keeps its zombie", e)
		}
	})
}

// vmMetrics reads the crinit_cgroup_ lines of each of a scenario's waits.
func vmMetrics(s *v2Scenario) []map[string]float64 {
	var out []map[string]float64
	for _, v := range s.vm {
		lines, ok := v["lines"].([]any)
		if v["vm"] != "wait" || !ok {
			continue
		}
		m := map[string]float64{}
		for _, l := range lines {
			name, val, _ := strings.Cut(fmt.Sprint(l), " ")
			m[name], _ = strconv.ParseFloat(val, 64)
		}
		out = append(out, m)
	}
	return out
}
