package testmain

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

// TestHasCapability agrees with capget(2) on every capability.
func TestHasCapability(t *testing.T) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	eff := uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	for bit := uint(0); bit <= unix.CAP_LAST_CAP; bit++ {
		if got, want := HasCapability(t, bit), eff&(1<<bit) != 0; got != want {
			t.Errorf("HasCapability(%d) = %v, capget says %v", bit, got, want)
		}
	}
}
