package sampler

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a
// sampler that outlives its context in PID 1 reads /proc for good.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
