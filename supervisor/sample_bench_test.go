//go:build linux

package supervisor

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkSampleTree samples a real tree of 50 processes (this test
// binary's children), as crinit does every --rss-interval.
func BenchmarkSampleTree(b *testing.B) {
	var cmds []*exec.Cmd
	for range 50 {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	defer func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	ts := newTreeSampler(procContext(""))
	self := int32(os.Getpid())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		smp := ts.sample(self, nil, time.Now())
		if len(smp.Procs) != 50 {
			b.Fatalf("sampled %d processes, want 50 (%v)", len(smp.Procs), smp.Err)
		}
	}
}
