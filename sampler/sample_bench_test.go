package sampler

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/crinit/crinit/procfs"
)

// BenchmarkSample samples a real tree of 50 processes (this test binary's
// children), as crinit does every --rss-interval.
func BenchmarkSample(b *testing.B) {
	for range 50 {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	s := New(procfs.NewFS(""), os.Getpid(), nil)
	b.ReportAllocs()
	for b.Loop() {
		smp := s.Sample(time.Now())
		if len(smp.Procs) != 50 {
			b.Fatalf("sampled %d processes, want 50 (%v)", len(smp.Procs), smp.Err)
		}
	}
}
