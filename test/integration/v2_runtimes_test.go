//go:build runtimes

package integration

// crinit on a real cgroup v2 kernel: Debian's linux-image-amd64 booted
// under qemu (no KVM needed) with an initramfs of busybox-static, crinit
// and node. Its /init runs each scenario as PID 1's child in a memory
// cgroup and prints the console lines the tests read. `make test-runtimes`
// runs it.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
echo 1 > /proc/sys/kernel/printk # no kernel message (an OOM kill's) cuts into the scenarios' lines
C=/usr/local/bin/crinit
run() { # NAME LIMIT_MIB CMD...: CMD in cgroup NAME with memory.max LIMIT
	name=$1 mib=$2; shift 2
	mkdir -p /sys/fs/cgroup/$name
	[ "$mib" = 0 ] || echo $((mib*1024*1024)) > /sys/fs/cgroup/$name/memory.max
	echo "== $name start"
	sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' /sys/fs/cgroup/$name "$@" </dev/null
	echo "== $name end $?"
}
LEAK='const a = []; setInterval(() => a.push(Buffer.alloc(1 << 20, 1)), 20)'
run V1 96 $C --health-addr "" --rss-limit auto --max-old-space-size auto -- sleep 1
run V2 96 $C --health-addr "" --restart never --rss-limit 48MiB --rss-interval 250ms -- node -e "$LEAK"
run V3 96 $C --health-addr "" --restart never --rss-limit 0 -- node -e 'Buffer.alloc(300 << 20, 1); setTimeout(() => {}, 60000)'
run V4 256 $C --health-addr "" --restart never --rss-limit 0 --max-old-space-size 32 -- node -e 'const a = []; for (;;) a.push({ n: a.length, s: "x".repeat(64) })'
mkdir -p /sys/fs/cgroup/pod; echo $((96*1024*1024)) > /sys/fs/cgroup/pod/memory.max
echo +memory > /sys/fs/cgroup/pod/cgroup.subtree_control
run pod/V5 0 $C --health-addr "" --rss-limit auto --max-old-space-size auto -- sleep 1
mkdir -p /sys/fs/cgroup/V6; echo 1 > /sys/fs/cgroup/V6/memory.oom.group
run V6 96 $C --health-addr "" --restart never --rss-limit 0 -- node -e 'Buffer.alloc(300 << 20, 1); setTimeout(() => {}, 60000)'
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
		cp "$3" "$2"/bin/busybox; for a in sh mount mkdir echo cat sleep poweroff; do ln -sf busybox "$2/bin/$a"; done`
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
	v2Start = regexp.MustCompile(`== (\S+) start`)
	v2End   = regexp.MustCompile(`== \S+ end (\d+)`)
)

// v2Scenario is what the console says of one scenario.
type v2Scenario struct {
	events []event
	exit   string // the shell's $? after crinit
}

// TestV2_Kernel boots the kernel once and checks each scenario.
func TestV2_Kernel(t *testing.T) {
	kernel, initrd := v2Prepare(t)
	qemu := exec.Command("qemu-system-x86_64", "-m", "1024", "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1")
	out, err := qemu.CombinedOutput()
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, out)
	}
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
		}
		if m := v2End.FindStringSubmatch(l); m != nil && cur != nil {
			cur.exit, cur = m[1], nil
		}
		if i := strings.Index(l, "{\"@level\""); i >= 0 && cur != nil {
			var e event
			if json.Unmarshal([]byte(l[i:]), &e) == nil {
				cur.events = append(cur.events, e)
			}
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
			if t.Failed() {
				for _, e := range s.events {
					t.Logf("%s: %v", name, e)
				}
				t.Logf("%s: exit %s", name, s.exit)
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
	check("V6", "memory.oom.group=1, as it is", func(t *testing.T, s *v2Scenario) {
		// The kernel kills the whole group, crinit with the child: no
		// child exited line, and the shell sees crinit die of SIGKILL.
		if e := find(s, "child exited"); len(e) != 0 || s.exit != fmt.Sprint(128+9) {
			t.Errorf("child exited %v, shell status %s; want crinit killed with the child (137), nothing logged", e, s.exit)
		}
	})
}
