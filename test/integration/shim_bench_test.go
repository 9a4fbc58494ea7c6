package integration

import (
	"os/exec"
	"testing"
)

// BenchmarkExecShim measures what starting a child through crinit's exec
// shim (which sets LISTEN_PID, for --listen) costs over starting it
// directly: one fork and exec of /bin/true each way, waited for.
func BenchmarkExecShim(b *testing.B) {
	for _, bm := range []struct {
		name string
		argv []string
	}{
		{"direct", []string{"/bin/true"}},
		{"shim", []string{crinitBin, "__crinit_exec", "/bin/true", "true"}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if err := exec.Command(bm.argv[0], bm.argv[1:]...).Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
