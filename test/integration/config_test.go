package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad configuration exits 2 with one line naming the flag and value, and
// never starts the child (which would create the marker file).
func TestConfig_BadInputExits2(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string // in the error line
	}{
		{"flag", nil, []string{"--nofile", "lots"}, []string{"--nofile", "CRINIT_NOFILE", `"lots"`}},
		{"env", []string{"CRINIT_STOP_TIMEOUT=soon"}, nil, []string{"--stop-timeout", "CRINIT_STOP_TIMEOUT", `"soon"`}},
		{"size unit", nil, []string{"--max-old-space-size", "256XB"}, []string{"--max-old-space-size", `"256XB"`, "unknown unit"}},
		{"negative", []string{"CRINIT_REMNANT_TIMEOUT=-1s"}, nil, []string{"--remnant-timeout", `"-1s"`, "negative"}},
		{"unknown flag", nil, []string{"--no-such-flag"}, []string{"no-such-flag"}},
		{"nofile over nr_open", nil, []string{"--nofile", "1000000000"}, []string{"--nofile", "1000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "started")
			c := startCrinit(t, runOpts{env: tc.env}, append(tc.args, "--", "touch", marker)...)
			if got := c.wait(); got != 2 {
				t.Errorf("exit code = %d, want 2", got)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the child was started")
			}
			msg := c.stderr.String()
			if tc.name == "nofile over nr_open" {
				// Applied after parsing, so reported as a log event.
				e := c.waitEvent("limit not applied")
				msg = e.str("flag") + " " + e.str("error")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %s", msg, w)
				}
			}
		})
	}
	t.Run("missing command", func(t *testing.T) {
		c := startCrinit(t, runOpts{}, "--nofile", "10")
		if got := c.wait(); got != 2 {
			t.Errorf("exit code = %d, want 2", got)
		}
		if !strings.Contains(c.stderr.String(), "missing COMMAND") {
			t.Errorf("stderr %q does not say COMMAND is missing", c.stderr.String())
		}
	})
}
