package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
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
