package endpoint

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// server a test starts must be shut down, with its connections.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
