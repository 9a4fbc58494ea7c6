package limits

import (
	"testing"

	"github.com/crinit/crinit/internal/testmain"
)

// helperEnv names the helper a re-executed test binary should run instead of
// the tests, as Go's os/exec tests do: some helpers change process-wide
// state (resource limits) that must not leak into the test process.
const helperEnv = "CRINIT_LIMITS_TEST_HELPER"

// helpers are the helper processes by name; each writes its result to
// stdout and returns the process's exit status.
var helpers = map[string]func() int{}

func TestMain(m *testing.M) {
	testmain.Run(m, helperEnv, helpers)
}
