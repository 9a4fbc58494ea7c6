package integration

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// decodeDeployment decodes a manifest strictly with the Kubernetes API's
// own types: an unknown or misplaced field is an error, as kubectl's
// server-side field validation makes it.
func decodeDeployment(b []byte) (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// TestContainer_KubernetesSchema holds examples/kubernetes.yaml to the
// API's schema; a misspelt field in a copy of it must fail.
func TestContainer_KubernetesSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(examplesDir(t), "kubernetes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeDeployment(b)
	if err != nil {
		t.Fatalf("kubernetes.yaml against apps/v1 Deployment: %v", err)
	}
	if d.Kind != "Deployment" || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("decoded %s with %d containers, want a Deployment with one", d.Kind, len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Resources.Limits.Memory().IsZero() || c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Errorf("container %s: memory limit %v, liveness %v, readiness %v; want all set", c.Name,
			c.Resources.Limits.Memory(), c.LivenessProbe, c.ReadinessProbe)
	}
	typo := strings.Replace(string(b), "readinessProbe:", "readynessProbe:", 1)
	if typo == string(b) {
		t.Fatal("kubernetes.yaml has no readinessProbe to misspell")
	}
	if _, err := decodeDeployment([]byte(typo)); err == nil || !strings.Contains(err.Error(), "readynessProbe") {
		t.Errorf("a misspelt field decoded without error (%v): the check cannot fail", err)
	}
}

// loadCompose loads a Compose file with the compose specification's own
// loader, which validates it against the specification's schema.
func loadCompose(dir string, body []byte) (*types.Project, error) {
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml"), Content: body}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("crinit-example", true) })
}

// TestContainer_ComposeSchema holds examples/docker-compose.yml to the
// compose specification; a misspelt key in a copy of it must fail.
func TestContainer_ComposeSchema(t *testing.T) {
	dir := examplesDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadCompose(dir, b)
	if err != nil {
		t.Fatalf("docker-compose.yml against the compose specification: %v", err)
	}
	if len(p.Services) != 1 {
		t.Fatalf("%d services, want 1", len(p.Services))
	}
	for name, s := range p.Services {
		if s.MemLimit != 512<<20 || s.Environment["CRINIT_RSS_LIMIT"] == nil {
			t.Errorf("service %s: mem_limit %d, CRINIT_RSS_LIMIT %v; want 512 MiB and set", name, s.MemLimit, s.Environment["CRINIT_RSS_LIMIT"])
		}
	}
	typo := strings.Replace(string(b), "mem_limit:", "mem_limt:", 1)
	if typo == string(b) {
		t.Fatal("docker-compose.yml has no mem_limit to misspell")
	}
	if _, err := loadCompose(dir, []byte(typo)); err == nil || !strings.Contains(err.Error(), "mem_limt") {
		t.Errorf("a misspelt key loaded without error (%v): the check cannot fail", err)
	}
}

// metricNames lists the metric names an expression selects.
func metricNames(p parser.Parser, expr string) ([]string, error) {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

// TestExamples_PrometheusRules holds examples/prometheus-rules.yml to
// Prometheus's own rule parser (unknown keys, PromQL and templates) and its
// metric names to those README.md documents; broken PromQL in a copy of it
// must fail.
func TestExamples_PrometheusRules(t *testing.T) {
	path := filepath.Join(examplesDir(t), "prometheus-rules.yml")
	p := parser.NewParser(parser.Options{})
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	rgs, errs := rulefmt.ParseFile(path, false, model.LegacyValidation, p, log)
	if len(errs) > 0 {
		t.Fatalf("prometheus-rules.yml against Prometheus's rule parser: %v", errors.Join(errs...))
	}
	readme, err := os.ReadFile(filepath.Join(examplesDir(t), "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	undocumented := map[string]bool{}
	for _, g := range rgs.Groups {
		if g.Name != "crinit" {
			t.Errorf("group %q, want crinit", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("rule %q is not an alert", r.Record)
			}
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: severity %q, summary %q, description %q; want all set", r.Alert,
					r.Labels["severity"], r.Annotations["summary"], r.Annotations["description"])
			}
			names, err := metricNames(p, r.Expr)
			if err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
			if len(names) == 0 {
				t.Errorf("alert %s: expr %q selects no metric", r.Alert, r.Expr)
			}
			for _, n := range names {
				if !strings.HasPrefix(n, "crinit_") {
					t.Errorf("alert %s: metric %q does not start with crinit_", r.Alert, n)
					continue
				}
				// README.md writes a metric in backticks, labels in braces.
				if !regexp.MustCompile("`" + regexp.QuoteMeta(n) + "[`{]").Match(readme) {
					undocumented[n] = true
				}
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(undocumented)) {
		t.Errorf("metric %s is not documented in README.md", n)
	}
	for _, want := range []string{"CrinitOOMKill", "CrinitRestartingOften", "CrinitRestartBudgetLow",
		"CrinitMemoryPressure", "CrinitChildDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s missing; have %v", want, alerts)
		}
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	typo := strings.Replace(string(b), "increase(", "increse(", 1)
	if typo == string(b) {
		t.Fatal("prometheus-rules.yml has no increase( to misspell")
	}
	_, errs = rulefmt.Parse([]byte(typo), false, model.LegacyValidation, p, log)
	if len(errs) == 0 || !strings.Contains(errors.Join(errs...).Error(), "increse") {
		t.Errorf("a misspelt function parsed without error (%v): the check cannot fail", errs)
	}
}
