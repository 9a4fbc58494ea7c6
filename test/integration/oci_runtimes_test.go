//go:build runtimes

package integration

// The example image under a real OCI runtime: examples/Dockerfile's final
// stage built into a root filesystem and run by runc with the compose
// file's limit and environment. `make test-runtimes` runs these.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ociRootfs builds the image's root filesystem once: node and the shared
// libraries it links (a stand-in for node:20-slim, whose node is this
// machine's Node 20 at the same path), a passwd with the image's node
// user, crinit built as the builder stage builds it, and the app copied
// as the final stage copies it.
var ociRootfs = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(crinitBin), "oci-") // removed with crinitBin's
	if err != nil {
		return "", err
	}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"usr/local/bin", "etc", "tmp", "proc", "sys", "dev", "home/node"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(root, "usr/local/bin/crinit"),
		"github.com/crinit/crinit/cmd/crinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build crinit: %v\n%s", err, out)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", err
	}
	if node, err = filepath.EvalSymlinks(node); err != nil {
		return "", err
	}
	files := []string{node}
	ldd, err := exec.Command("ldd", node).Output()
	if err != nil {
		return "", fmt.Errorf("ldd node: %w", err)
	}
	for _, f := range strings.Fields(string(ldd)) {
		if strings.HasPrefix(f, "/") {
			files = append(files, f)
		}
	}
	for _, f := range files {
		dest := filepath.Join(root, f)
		if f == node {
			dest = filepath.Join(root, "usr/local/bin/node")
		}
		if err := copyFile(f, dest, 0o755); err != nil {
			return "", err
		}
	}
	etc := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n",
		"group":  "root:x:0:\nnode:x:1000:\n",
	}
	for name, body := range etc {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	return dir, os.Chmod(filepath.Join(root, "tmp"), 0o1777)
})

// copyFile copies src to dest, making dest's directory.
func copyFile(src, dest string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dest, b, mode)
}

// ociBundle makes a bundle for one container: the shared root filesystem
// with the app copied in as the final stage copies it, and a config.json
// from the image (USER, WORKDIR, ENV, ENTRYPOINT, CMD) and the compose
// service (memory limit, environment), with env added last.
func ociBundle(t *testing.T, id string, env ...string) string {
	t.Helper()
	requireRoot(t)
	_, err := exec.LookPath("runc")
	require(t, "runc", err == nil)
	requireNode(t)
	base, err := ociRootfs()
	if err != nil {
		t.Fatalf("root filesystem: %v", err)
	}
	dir := examplesDir(t)
	img := parseDockerfile(t, filepath.Join(dir, "Dockerfile"))
	_, svc := composeFile(t, filepath.Join(dir, "docker-compose.yml"))
	root := filepath.Join(base, "rootfs")
	for _, c := range img.copies {
		if strings.Contains(strings.Join(c.flags, " "), "--from=") {
			continue // crinit, built above as the builder stage builds it
		}
		src := filepath.Join(repoRoot(t), c.src[0])
		if err := exec.Command("cp", "-rT", src, filepath.Join(root, c.dest)).Run(); err != nil {
			t.Fatalf("COPY %s %s: %v", c.src[0], c.dest, err)
		}
		if err := exec.Command("chown", "-R", "1000:1000", filepath.Join(root, c.dest)).Run(); err != nil {
			t.Fatal(err)
		}
	}
	bundle := t.TempDir()
	if out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	var spec map[string]any
	b, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	uid := map[string]float64{"node": 1000, "root": 0}[img.user]
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = append(append([]string{}, img.entrypoint...), img.cmd...)
	proc["cwd"] = img.workdir
	proc["user"] = map[string]any{"uid": uid, "gid": uid}
	proc["env"] = append(append(append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/node"}, img.env...), svc.env(t)...), env...)
	delete(proc, "rlimits") // root here cannot raise rlimits: no CAP_SYS_RESOURCE
	spec["root"] = map[string]any{"path": root, "readonly": true}
	linux := spec["linux"].(map[string]any)
	var ns []any
	for _, n := range linux["namespaces"].([]any) {
		if n.(map[string]any)["type"] != "network" { // the host's network: the test talks to the app
			ns = append(ns, n)
		}
	}
	linux["namespaces"] = ns
	limit := composeBytes(t, svc.MemLimit)
	linux["resources"] = map[string]any{"memory": map[string]any{"limit": limit, "swap": limit}}
	linux["cgroupsPath"] = "/crinit-oci-" + id
	b, _ = json.MarshalIndent(spec, "", " ")
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("runc", "delete", "--force", id).Run() })
	return bundle
}

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireRoot needs root: runc creates namespaces and cgroups.
func requireRoot(t *testing.T) {
	t.Helper()
	require(t, "root", os.Geteuid() == 0)
}

// runcExec runs argv inside container id, as runc exec does for a
// HEALTHCHECK, and returns its output and exit status.
func runcExec(t *testing.T, id string, argv ...string) (string, int) {
	t.Helper()
	out, err := exec.Command("runc", append([]string{"exec", id}, argv...)...).CombinedOutput()
	return string(out), exitCode(err)
}

// TestOCI_ExampleImage runs the example image under runc: it serves (R1),
// its HEALTHCHECK passes as Docker runs it (R2), crinit found the cgroup
// through the container's own view and sized node from the compose limit
// (R7), and as the image's non-root user applied nofile and raised the
// child's oom_score_adj (R6); docker stop ends it with the app's status,
// well inside Docker's 10 s, with nothing left (R3).
func TestOCI_ExampleImage(t *testing.T) {
	const id = "crinit-oci-example"
	bundle := ociBundle(t, id)
	c := startCrinit(t, runOpts{argv: []string{"runc", "run", "--bundle", bundle, id}})
	a := appListening(t, c)
	t.Run("R1 the app serves", func(t *testing.T) {
		if status, _ := a.get(t, "/api/reportes?limit=1"); status != 200 {
			t.Errorf("the app answered %d, want 200", status)
		}
	})
	t.Run("R2 the HEALTHCHECK passes", func(t *testing.T) { ociHealthy(t, id) })
	t.Run("R7 the cgroup found, auto sizes from the compose limit", func(t *testing.T) { ociSized(t, c) })
	t.Run("R6 nofile and oom_score_adj as the node user", func(t *testing.T) { ociChildLimits(t, id, a.PID) })
	t.Run("R3 docker stop", func(t *testing.T) { ociStop(t, id, c) })
}

// ociHealthy runs the image's HEALTHCHECK as Docker does, until it passes.
func ociHealthy(t *testing.T, id string) {

	// Docker runs the HEALTHCHECK again and again; inside the start period
	// a failure only means "starting". Nothing signals the probe's first
	// pass to the outside: ask as Docker would, once a second.
	img := parseDockerfile(t, filepath.Join(examplesDir(t), "Dockerfile"))
	startPeriod, err := time.ParseDuration(img.healthFlags["start-period"])
	if err != nil {
		t.Fatalf("HEALTHCHECK --start-period: %v", err)
	}
	var out string
	code := -1
	for deadline := time.Now().Add(startPeriod); code != 0 && time.Now().Before(deadline); {
		if out, code = runcExec(t, id, img.healthTest...); code != 0 {
			time.Sleep(time.Second)
		}
	}
	if code != 0 || !strings.Contains(out, "ready") {
		t.Errorf("HEALTHCHECK %v exited %d: %q, want 0 and ready within the start period", img.healthTest, code, out)
	}
}

// ociSized checks that crinit found the container's cgroup through its own
// view and derived its auto sizes from the compose file's limit.
func ociSized(t *testing.T, c *crinit) {

	cg := c.events("memory cgroup")
	auto := c.events("auto size")
	if len(cg) != 1 || cg[0].num("limit_bytes") != 512*mib || len(auto) != 2 {
		t.Errorf("memory cgroup %v, auto sizes %v; want the 512 MiB compose limit found and both sizes derived", cg, auto)
	}
	for _, e := range auto {
		if e.num("cgroup_limit_bytes") != 512*mib {
			t.Errorf("auto size %v, want it derived from 512 MiB", e)
		}
	}
}

// ociChildLimits reads, inside the container, the child's uid, nofile and
// oom_score_adj.
func ociChildLimits(t *testing.T, id string, pid int) {

	script := fmt.Sprintf(`const fs = require("fs");
		const lim = fs.readFileSync("/proc/%d/limits", "utf8").split("\n").find(l => l.startsWith("Max open files"));
		console.log(process.getuid(), fs.readFileSync("/proc/%d/oom_score_adj", "utf8").trim(), lim.split(/\s+/).slice(3, 5).join(" "));`, pid, pid)
	out, code := runcExec(t, id, "/usr/local/bin/node", "-e", script)
	if want := "1000 500 8192 8192"; code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("uid, oom_score_adj, nofile of the child: %q (exit %d), want %q", strings.TrimSpace(out), code, want)
	}
}

// ociStop stops the container as docker stop does (SIGTERM; Docker's
// SIGKILL would follow after 10 s).
func ociStop(t *testing.T, id string, c *crinit) {

	start := time.Now()
	if err := exec.Command("runc", "kill", id, "TERM").Run(); err != nil {
		t.Fatalf("runc kill: %v", err)
	}
	code := c.wait()
	took := time.Since(start)
	exits := c.events("child exited")
	if len(exits) != 1 || code != exits[0].num("exit_code") || took > 5*time.Second {
		t.Errorf("exit %d after %v, child exits %v; want the app's status well inside 10 s", code, took, exits)
	}
	if out, err := exec.Command("runc", "state", id).CombinedOutput(); err == nil && !strings.Contains(string(out), `"stopped"`) {
		t.Errorf("container still there after the stop: %s", out)
	}
	t.Logf("stopped in %v with status %d", took.Round(time.Millisecond), code)
}

// TestOCI_MemoryRestarts: in the container, a leak gives an rss_limit
// restart and the app serves again (R4); an allocation past the limit is
// the kernel's OOM kill, named oom_kill, and restarted (R5).
func TestOCI_MemoryRestarts(t *testing.T) {
	const id = "crinit-oci-memory"
	// Five samples over the limit (1.25 s once sampling is fast near it), as
	// long as two took at the default interval: the 700 MB allocation must
	// reach the cgroup's limit, and the kernel's OOM killer, first.
	bundle := ociBundle(t, id, "CRINIT_RESTART_DELAY=100ms", "CRINIT_RSS_GRACE=5")
	c := startCrinit(t, runOpts{argv: []string{"runc", "run", "--bundle", bundle, id}})
	a := appListening(t, c)
	t.Run("R4 a leak restarted for rss_limit", func(t *testing.T) {
		a.admin(t, "/leak?mb_per_s=60&kind=buffer")
		if e := c.waitEvent("child exited"); e.str("reason") != "rss_limit" {
			t.Errorf("child exited %v, want reason rss_limit", e)
		}
		a = appListening(t, c)
		if status, _ := a.get(t, "/"); status != 200 {
			t.Errorf("the restarted app answered %d, want 200", status)
		}
	})
	t.Run("R5 an allocation past the limit is oom_kill", func(t *testing.T) {
		a.admin(t, "/alloc?mb=700")
		if e := c.waitEvent("child exited"); e.str("reason") != "oom_kill" || e.str("signal") != "SIGKILL" {
			t.Errorf("child exited %v, want reason oom_kill by SIGKILL", e)
		}
		if status, _ := appListening(t, c).get(t, "/"); status != 200 {
			t.Errorf("the app after the OOM kill answered %d, want 200", status)
		}
	})
	if err := exec.Command("runc", "kill", id, "TERM").Run(); err != nil {
		t.Errorf("runc kill: %v", err)
	}
	c.wait()
}
