// Package testmain is the TestMain of packages whose tests re-execute
// their own binary as a helper process, as Go's os/exec tests do, and the
// few helpers tests of several packages share. Only tests import it.
package testmain

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Run runs helpers[name] and exits with its status when the variable env
// names a helper; otherwise it runs the tests and fails them on a leaked
// goroutine.
func Run(m *testing.M, env string, helpers map[string]func() int) {
	if code, ok := dispatch(os.Getenv(env), helpers, os.Stderr); ok {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// dispatch runs the helper called name; ok is false when name is empty,
// that is, when this binary runs tests.
func dispatch(name string, helpers map[string]func() int, stderr io.Writer) (code int, ok bool) {
	if name == "" {
		return 0, false
	}
	h, found := helpers[name]
	if !found {
		fmt.Fprintf(stderr, "unknown test helper %q\n", name)
		return 2, true
	}
	return h(), true
}

// HasCapability reports whether this process holds capability bit (a
// CAP_ number, CAP_SYS_RESOURCE is 24) in its effective set, read from
// /proc/self/status.
func HasCapability(t testing.TB, bit uint) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return caps&(1<<bit) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}
