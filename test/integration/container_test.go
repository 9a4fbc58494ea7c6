package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"go.yaml.in/yaml/v3"
)

// The files under examples/ describe how crinit runs in a container. These
// tests read them with real parsers (BuildKit's Dockerfile parser, a YAML
// decoder) and run what they describe the way the container runtime would,
// so an example that drifts from crinit's behaviour fails here.

// examplesDir is the repository's examples/ directory.
func examplesDir(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// copyInstr is one COPY of the final stage.
type copyInstr struct {
	flags []string // --from=build, --chown=node:node
	src   []string
	dest  string // absolute in the image: resolved against WORKDIR
}

// image is the configuration a Dockerfile's final stage gives its image.
type image struct {
	from        string
	entrypoint  []string // exec form only
	cmd         []string // exec form only
	env         []string // KEY=VALUE in Dockerfile order, values expanded
	workdir     string
	user        string
	healthFlags map[string]string // --interval=30s -> interval: 30s
	healthTest  []string          // HEALTHCHECK CMD, exec form
	copies      []copyInstr
}

// envGetter is the expansion environment of ENV, WORKDIR and USER values:
// the stage's ENV so far (build args are not used by the final stage).
type envGetter []string

func (e envGetter) Get(key string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(e[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}

func (e envGetter) Keys() []string {
	keys := make([]string, 0, len(e))
	for _, kv := range e {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return keys
}

// execForm returns the JSON-array arguments of an instruction, failing the
// test for shell form: crinit must be PID 1 itself, not a child of sh -c.
func execForm(t *testing.T, n *parser.Node, first *parser.Node) []string {
	t.Helper()
	if !n.Attributes["json"] {
		t.Fatalf("line %d: %q is in shell form, want an exec-form JSON array", n.StartLine, n.Original)
	}
	var args []string
	for a := first; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args
}

// parseDockerfile parses a Dockerfile and returns its final stage's image
// configuration, read from the AST of each instruction.
func parseDockerfile(t *testing.T, file string) image {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: parser warning: %s", file, w.Short)
	}
	lex := shell.NewLex(res.EscapeToken)
	expand := func(n *parser.Node, word string, env []string) string {
		t.Helper()
		v, _, err := lex.ProcessWord(word, envGetter(env))
		if err != nil {
			t.Fatalf("line %d: expand %q: %v", n.StartLine, word, err)
		}
		return v
	}
	var img image
	for _, n := range res.AST.Children {
		switch instr := strings.ToLower(n.Value); instr {
		case "from":
			// A new stage starts from its base image's configuration, which
			// this test cannot see: what it needs must be set in the stage.
			img = image{from: n.Next.Value}
		case "entrypoint":
			img.entrypoint = execForm(t, n, n.Next)
			img.cmd = nil // Docker: ENTRYPOINT resets an inherited CMD
		case "cmd":
			img.cmd = execForm(t, n, n.Next)
		case "env":
			// The AST holds KEY, VALUE, separator triples; values keep their
			// quotes and $references until the shell lexer processes them.
			for kv := n.Next; kv != nil && kv.Next != nil; kv = kv.Next.Next.Next {
				img.env = append(img.env, kv.Value+"="+expand(n, kv.Next.Value, img.env))
			}
		case "workdir":
			img.workdir = path.Join(img.workdir, expand(n, n.Next.Value, img.env))
			if !path.IsAbs(img.workdir) {
				img.workdir = "/" + img.workdir
			}
		case "user":
			img.user = expand(n, n.Next.Value, img.env)
		case "healthcheck":
			if n.Next == nil || !strings.EqualFold(n.Next.Value, "CMD") {
				t.Fatalf("line %d: HEALTHCHECK %q, want HEALTHCHECK [OPTIONS] CMD", n.StartLine, n.Original)
			}
			img.healthFlags = map[string]string{}
			for _, f := range n.Flags {
				k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
				img.healthFlags[k] = v
			}
			img.healthTest = execForm(t, n, n.Next.Next)
		case "copy":
			var words []string
			for a := n.Next; a != nil; a = a.Next {
				words = append(words, a.Value)
			}
			if len(words) < 2 {
				t.Fatalf("line %d: COPY %q needs a source and a destination", n.StartLine, n.Original)
			}
			dest := words[len(words)-1]
			if !path.IsAbs(dest) {
				dest = path.Join(img.workdir, dest)
			}
			img.copies = append(img.copies, copyInstr{flags: n.Flags, src: words[:len(words)-1], dest: dest})
		}
	}
	return img
}

// sourceOf returns the build-context source of the final stage's COPY that
// puts files at dest (from the context, not another stage).
func (img image) sourceOf(t *testing.T, dest string) string {
	t.Helper()
	for _, c := range img.copies {
		if path.Clean(c.dest) == path.Clean(dest) && !slices.ContainsFunc(c.flags, func(f string) bool { return strings.HasPrefix(f, "--from=") }) {
			if len(c.src) != 1 {
				t.Fatalf("COPY to %s has sources %q, want one", dest, c.src)
			}
			return c.src[0]
		}
	}
	t.Fatalf("the final stage copies nothing from the build context to %s", dest)
	return ""
}

// composeService is the part of a Compose service this test reads.
type composeService struct {
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Ports       []string  `yaml:"ports"`
	MemLimit    string    `yaml:"mem_limit"`
	Environment yaml.Node `yaml:"environment"`
}

// composeFile parses a Compose file and returns its only service.
func composeFile(t *testing.T, file string) (string, composeService) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(f.Services) != 1 {
		t.Fatalf("%s has %d services, want the one the example runs", file, len(f.Services))
	}
	for name, s := range f.Services {
		return name, s
	}
	panic("unreachable")
}

// env returns the service's environment as KEY=VALUE, in file order; both
// of Compose's forms (a map, a list of KEY=VALUE) are accepted.
func (s composeService) env(t *testing.T) []string {
	t.Helper()
	n := s.Environment
	var out []string
	switch n.Kind {
	case 0: // absent
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Tag == "!!null" {
				t.Fatalf("environment %s has no value: Compose would take it from the host", k.Value)
			}
			out = append(out, k.Value+"="+v.Value)
		}
	case yaml.SequenceNode:
		for _, v := range n.Content {
			if !strings.Contains(v.Value, "=") {
				t.Fatalf("environment %q has no value: Compose would take it from the host", v.Value)
			}
			out = append(out, v.Value)
		}
	default:
		t.Fatalf("environment at line %d is neither a map nor a list", n.Line)
	}
	return out
}

// composeBytes parses a Compose byte value (mem_limit: 512m) as Docker
// does (go-units RAMInBytes): the units b, k, m, g, t, p are binary.
func composeBytes(t *testing.T, s string) uint64 {
	t.Helper()
	m := regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$`).FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		t.Fatalf("byte value %q: want a number with an optional unit b, k, m, g", s)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	if m[2] != "" {
		f *= float64(uint64(1) << (10 * (strings.Index("kmgtp", m[2]) + 1)))
	}
	return uint64(f)
}

// envValue is the last value of key in env (the one exec keeps).
func envValue(env []string, key string) string {
	v, _ := envGetter(env).Get(key)
	return v
}

// portFree reports whether addr can be listened on right now.
func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// The example container, simulated: examples/docker-compose.yml's service,
// built from examples/Dockerfile, run as the runtime would run it. Its
// ENTRYPOINT+CMD is PID 1 of a new PID namespace, in a memory cgroup with
// the service's mem_limit, with the image's ENV and then the service's
// environment, in the image's WORKDIR; its HEALTHCHECK turns healthy within
// the start period and SIGTERM (docker stop) ends it with status 0.
func TestContainer_ComposeService(t *testing.T) {
	requireNode(t)
	requireNamespace(t)
	examples := examplesDir(t)
	_, svc := composeFile(t, filepath.Join(examples, "docker-compose.yml"))
	// Compose resolves build.context against the Compose file's directory
	// and build.dockerfile against the context.
	buildContext := filepath.Join(examples, svc.Build.Context)
	img := parseDockerfile(t, filepath.Join(buildContext, svc.Build.Dockerfile))

	// The image's files, mapped onto the repository. crinit: the build stage
	// runs `CGO_ENABLED=0 go build ./cmd/crinit`, as TestMain does for
	// crinitBin, and the final stage copies it to ENTRYPOINT's path.
	if len(img.entrypoint) == 0 || len(img.cmd) == 0 {
		t.Fatalf("ENTRYPOINT %q, CMD %q: both must be set in the final stage", img.entrypoint, img.cmd)
	}
	if !slices.ContainsFunc(img.copies, func(c copyInstr) bool {
		return c.dest == img.entrypoint[0] && slices.Contains(c.flags, "--from=build")
	}) {
		t.Fatalf("no COPY --from=build puts crinit at ENTRYPOINT's %s", img.entrypoint[0])
	}
	// WORKDIR: the directory the final stage fills from the build context
	// (COPY examples/app/ ./ into /app) is, in the repository, that source.
	appDir := filepath.Join(buildContext, filepath.FromSlash(img.sourceOf(t, img.workdir)))
	if _, err := os.Stat(filepath.Join(appDir, img.cmd[len(img.cmd)-1])); err != nil {
		t.Fatalf("CMD's script is not in WORKDIR %s (%s in the repository): %v", img.workdir, appDir, err)
	}
	// USER node: the image runs as the node image's unprivileged user. The
	// test stays root (it needs root for the namespace and the cgroup) and
	// only checks that the Dockerfile asks for it; what crinit cannot do as
	// that user (raise RLIMIT_NOFILE's hard limit) is not exercised here.
	if img.user != "node" {
		t.Errorf("USER %q, want node", img.user)
	}

	env := append(slices.Clone(img.env), svc.env(t)...) // Compose's environment overrides the image's ENV
	// The files fix the ports: the app's 4000 (PORT unset; the Compose file
	// publishes 4000:4000 and its probe URL asks 4000), the app's admin
	// port 4001 (server.js's default) and crinit's endpoint at
	// CRINIT_HEALTH_ADDR. They are kept rather than overridden, since the
	// integration tests run one at a time and all others use port 0.
	for _, addr := range []string{":4000", "127.0.0.1:4001", envValue(env, "CRINIT_HEALTH_ADDR")} {
		require(t, "a free TCP port "+addr+" (fixed by the example files)", portFree(addr))
	}

	limit := composeBytes(t, svc.MemLimit)
	cg := memoryCgroup(t, limit)
	// WORKDIR is the working directory of the ENTRYPOINT process, crinit
	// itself, which passes it on to node. t.Chdir gives crinit (started by
	// the harness with the test's own directory) exactly that, without a
	// shell between crinit and node that would change how crinit passes
	// the heap flag (argv for node, NODE_OPTIONS for anything else).
	t.Chdir(appDir)
	args := append(slices.Clone(img.entrypoint[1:]), img.cmd...) // ENTRYPOINT[0] is crinitBin
	start := time.Now()
	c := startCrinit(t, runOpts{ns: true, env: env, cgroup: cg}, args...)

	if e := c.waitEvent("memory cgroup"); uint64(e.num("limit_bytes")) != limit {
		t.Errorf("memory cgroup %v: limit_bytes want %d, mem_limit %q", e, limit, svc.MemLimit)
	}
	c.waitEvent("child started")
	// CRINIT_MAX_OLD_SPACE_SIZE=auto and CRINIT_RSS_LIMIT=auto: half the
	// limit for V8's heap (256 MiB of 512), 60% for the RSS kill-switch.
	want := map[string]int{
		"--max-old-space-size": 256 << 20,
		"--rss-limit":          int(float64(limit) * 0.6),
	}
	got := map[string]int{}
	for _, e := range c.events("auto size") {
		got[e.str("flag")] = e.num("bytes")
		if uint64(e.num("cgroup_limit_bytes")) != limit {
			t.Errorf("auto size %v: cgroup_limit_bytes want %d", e, limit)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("auto sizes %v, want %v", got, want)
	}
	if s := c.events("child started"); len(s) != 1 || !strings.Contains(fmt.Sprint(s[0]["argv"]), "--max-old-space-size=256") {
		t.Errorf("child started events %v, want node started with --max-old-space-size=256", s)
	}
	if a := appListening(t, c); a.Port != 4000 {
		t.Errorf("app listening on %d, want 4000", a.Port)
	}

	// HEALTHCHECK CMD ["crinit", "health"]: crinit is found on the image's
	// PATH in /usr/local/bin, where the final stage copied it. Docker runs it
	// in the container, with the container's environment; here it runs with
	// the same environment and directory. A HEALTHCHECK can only be polled.
	if len(img.healthTest) == 0 || path.Base(img.healthTest[0]) != path.Base(img.entrypoint[0]) {
		t.Fatalf("HEALTHCHECK %q does not run the crinit of ENTRYPOINT %q", img.healthTest, img.entrypoint)
	}
	startPeriod, err := time.ParseDuration(img.healthFlags["start-period"])
	if err != nil {
		t.Fatalf("HEALTHCHECK --start-period: %v", err)
	}
	timeout, err := time.ParseDuration(img.healthFlags["timeout"])
	if err != nil {
		t.Fatalf("HEALTHCHECK --timeout: %v", err)
	}
	healthy, tries, last := false, 0, ""
	for !healthy {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		hc := exec.CommandContext(ctx, crinitBin, img.healthTest[1:]...)
		hc.Env, hc.Dir = append(os.Environ(), env...), appDir
		out, err := hc.CombinedOutput()
		cancel()
		tries++
		last = strings.TrimSpace(string(out))
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("run HEALTHCHECK: %v", err)
		}
		healthy = err == nil
		if !healthy {
			if time.Since(start) > startPeriod {
				t.Fatalf("HEALTHCHECK not healthy within its %v start period after %d tries; last: %s", startPeriod, tries, last)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	t.Logf("HEALTHCHECK healthy after %v (%d tries): %s", time.Since(start).Round(time.Millisecond), tries, last)
	c.waitEvent("probe healthy")

	// docker stop: SIGTERM to PID 1.
	c.signal(syscall.SIGTERM)
	if code := c.wait(); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if e := c.events("child exited"); len(e) != 1 || e[0].num("exit_code") != 0 || e[0].str("reason") != "shutdown" {
		t.Errorf("child exited events %v, want one, exit_code 0, reason shutdown", e)
	}
}

// The example files parse, and say what the README promises.
func TestContainer_ExampleFiles(t *testing.T) {
	examples := examplesDir(t)

	t.Run("Dockerfile", func(t *testing.T) {
		img := parseDockerfile(t, filepath.Join(examples, "Dockerfile"))
		for _, c := range []struct {
			what      string
			got, want any
		}{
			{"final stage FROM", img.from, "node:20-slim"},
			{"ENTRYPOINT", img.entrypoint, []string{"/usr/local/bin/crinit", "--"}},
			{"CMD", img.cmd, []string{"node", "server.js"}},
			{"HEALTHCHECK CMD", img.healthTest, []string{"crinit", "health"}},
			{"USER", img.user, "node"},
			{"WORKDIR", img.workdir, "/app"},
		} {
			if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
	})

	// The README's own Dockerfile snippet is the example's.
	t.Run("README", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(examples, "..", "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile("(?s)```dockerfile\n(.*?)```").FindSubmatch(b)
		if m == nil {
			t.Fatal("README.md has no dockerfile block")
		}
		snippet := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(snippet, append([]byte("FROM scratch\n"), m[1]...), 0o644); err != nil {
			t.Fatal(err)
		}
		readme, example := parseDockerfile(t, snippet), parseDockerfile(t, filepath.Join(examples, "Dockerfile"))
		if fmt.Sprint(readme.entrypoint, readme.cmd) != fmt.Sprint(example.entrypoint, example.cmd) {
			t.Errorf("README: ENTRYPOINT %q CMD %q; examples/Dockerfile: ENTRYPOINT %q CMD %q",
				readme.entrypoint, readme.cmd, example.entrypoint, example.cmd)
		}
	})

	t.Run("Compose", func(t *testing.T) {
		name, svc := composeFile(t, filepath.Join(examples, "docker-compose.yml"))
		if got := composeBytes(t, svc.MemLimit); got != 512<<20 {
			t.Errorf("service %s: mem_limit %q = %d bytes, want 512 MiB", name, svc.MemLimit, got)
		}
		env := svc.env(t)
		for _, kv := range []string{"CRINIT_MAX_OLD_SPACE_SIZE=auto", "CRINIT_RSS_LIMIT=auto", "CRINIT_HEALTH_ADDR=127.0.0.1:9753"} {
			if !slices.Contains(env, kv) {
				t.Errorf("service %s: environment %q lacks %s", name, env, kv)
			}
		}
		if got := filepath.Join(examples, svc.Build.Context, svc.Build.Dockerfile); got != filepath.Join(examples, "Dockerfile") {
			t.Errorf("service %s builds %s, want examples/Dockerfile", name, got)
		}
	})

	t.Run("Kubernetes", func(t *testing.T) {
		checkKubernetes(t, filepath.Join(examples, "kubernetes.yaml"))
	})
}

// k8sProbe is a container probe; only httpGet is read.
type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"` // a number or a named container port
	} `yaml:"httpGet"`
}

// k8sDeployment is the part of a Deployment this test reads.
type k8sDeployment struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []struct {
					Name  string `yaml:"name"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					Resources struct {
						Limits map[string]string `yaml:"limits"`
					} `yaml:"resources"`
					LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
					ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// checkKubernetes: the manifest has a Deployment whose container has a
// memory limit, CRINIT_HEALTH_ADDR=:9753, liveness on /healthz and
// readiness on /readyz at that port, and a pod asking to be scraped.
func checkKubernetes(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var dep *k8sDeployment
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d k8sDeployment
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		if d.Kind == "Deployment" && d.APIVersion == "apps/v1" {
			dep = &d
		}
	}
	if dep == nil {
		t.Fatalf("%s has no apps/v1 Deployment", file)
	}
	pod := dep.Spec.Template
	if got := pod.Metadata.Annotations["prometheus.io/scrape"]; got != "true" {
		t.Errorf("annotation prometheus.io/scrape = %q, want \"true\"", got)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	ctr := pod.Spec.Containers[0]
	if mem := ctr.Resources.Limits["memory"]; mem == "" {
		t.Errorf("container %s has no memory limit: crinit's auto sizes need one", ctr.Name)
	}
	healthAddr := ""
	for _, e := range ctr.Env {
		if e.Name == "CRINIT_HEALTH_ADDR" {
			healthAddr = e.Value
		}
	}
	if healthAddr != ":9753" {
		t.Errorf("CRINIT_HEALTH_ADDR = %q, want \":9753\" (reachable by the kubelet)", healthAddr)
	}
	port := func(p string) int {
		for _, cp := range ctr.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	for _, p := range []struct {
		what  string
		probe *k8sProbe
		path  string
	}{
		{"livenessProbe", ctr.LivenessProbe, "/healthz"},
		{"readinessProbe", ctr.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", p.what)
			continue
		}
		if got := p.probe.HTTPGet; got.Path != p.path || port(got.Port) != 9753 {
			t.Errorf("%s: GET %s on port %q (%d), want %s on 9753", p.what, got.Path, got.Port, port(got.Port), p.path)
		}
	}
}
