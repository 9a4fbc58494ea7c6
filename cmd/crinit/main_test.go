package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain makes the test binary crinit's exec shim too, as crinit's own
// binary is: a child of an in-process --listen run starts through it.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == shimArg {
		os.Exit(execShim(os.Args[2], os.Args[3:]))
	}
	goleak.VerifyTestMain(m)
}
