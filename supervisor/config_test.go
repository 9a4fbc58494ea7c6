package supervisor

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no command", func(c *Config) { c.Argv = nil }, "invalid Argv"},
		{"empty command", func(c *Config) { c.Argv = []string{""} }, "invalid Argv"},
		{"negative stop timeout", func(c *Config) { c.StopTimeout = -time.Second }, "invalid StopTimeout -1s"},
		{"negative sample interval", func(c *Config) { c.SampleInterval = -1 }, "invalid SampleInterval"},
		{"forward target", func(c *Config) { c.ForwardTo = "pgrp" }, `invalid ForwardTo "pgrp"`},
		{"restart mode", func(c *Config) { c.Restart.Mode = "sometimes" }, `invalid Restart.Mode "sometimes"`},
		{"restart max", func(c *Config) { c.Restart.Max = -1 }, "invalid Restart.Max -1"},
		{"restart window", func(c *Config) { c.Restart.Window = 0 }, "invalid Restart.Window 0s"},
		{"delay above max", func(c *Config) { c.Restart.Delay = time.Minute }, "invalid Restart.DelayMax 10s"},
		{"rss grace", func(c *Config) { c.RSSGrace = -2 }, "invalid RSSGrace -2"},
		{"snapshots kept", func(c *Config) { c.HeapSnapshotDir = "/tmp" }, "invalid HeapSnapshotKeep 0"},
		{"oom score", func(c *Config) { c.OOMScoreAdj = 1001 }, "invalid OOMScoreAdj 1001"},
		{"probe without interval", func(c *Config) { c.Probe, c.ProbePolicy.Retries = newTestProber(t), 1 }, "invalid ProbeInterval 0s"},
		{"probe without retries", func(c *Config) { c.Probe, c.ProbeInterval = newTestProber(t), time.Second }, "invalid ProbePolicy.Retries 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tt.want)
			}
			if tt.want == "" {
				return
			}
			if _, err := New(cfg, hclog.NewNullLogger()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want it to refuse the config with %q", err, tt.want)
			}
		})
	}
}

func TestParseForwardTarget(t *testing.T) {
	for in, want := range map[string]ForwardTarget{"group": ForwardGroup, "child": ForwardChild, "": "", "all": ""} {
		got, err := ParseForwardTarget(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseForwardTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestReasons(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Errorf("reason %s listed twice", r)
		}
		seen[r] = true
		if r.Restarts() == (r == ReasonShutdown) {
			t.Errorf("%s.Restarts() = %v", r, r.Restarts())
		}
	}
	// Every reason classify can give must be listed, or it gets no metric.
	for _, r := range []Reason{ReasonExit, ReasonSignal, ReasonOOMKill, ReasonHeapLimit, ReasonRSSLimit,
		ReasonFDLimit, ReasonReload, ReasonProbe, ReasonShutdown} {
		if !seen[r] {
			t.Errorf("reason %s missing from Reasons()", r)
		}
	}
}
