package supervisor

import (
	"fmt"
	"io"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv names the helper a re-executed test binary runs instead of the
// tests, as Go's os/exec tests do: the test binary plays the child.
const helperEnv = "CRINIT_SUPERVISOR_TEST_HELPER"

// helpers are the helper processes by name; each returns its exit status.
var helpers = map[string]func() int{
	// block lives until its stdin is closed.
	"block": func() int {
		if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
			return 1
		}
		return 0
	},
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		h, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown test helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(h())
	}
	goleak.VerifyTestMain(m)
}
