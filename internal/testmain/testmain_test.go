package testmain

import (
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	Run(m, "CRINIT_TESTMAIN_TEST_HELPER", nil)
}

func TestDispatch(t *testing.T) {
	helpers := map[string]func() int{"three": func() int { return 3 }}
	tests := []struct {
		name       string
		wantCode   int
		wantOK     bool
		wantStderr string
	}{
		{"", 0, false, ""},
		{"three", 3, true, ""},
		{"four", 2, true, `unknown test helper "four"`},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		code, ok := dispatch(tt.name, helpers, &stderr)
		if code != tt.wantCode || ok != tt.wantOK || !strings.Contains(stderr.String(), tt.wantStderr) {
			t.Errorf("dispatch(%q) = %d, %v, stderr %q; want %d, %v, %q", tt.name, code, ok, stderr.String(), tt.wantCode, tt.wantOK, tt.wantStderr)
		}
	}
}
