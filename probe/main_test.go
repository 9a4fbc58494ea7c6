package probe

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a probe
// that leaks a connection's goroutines in PID 1 leaks them for good.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
