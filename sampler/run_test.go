package sampler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/procfs"
)

// running is a Run on its own goroutine, in a synctest bubble.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	log    *bytes.Buffer // JSON lines; read only after done
}

// startRun runs a Sampler of root's tree under 1 with a JSON logger.
func startRun(root string, interval time.Duration, out chan<- Sample) *running {
	return startPaced(root, interval, nil, out)
}

// startPaced is startRun with a pace channel.
func startPaced(root string, interval time.Duration, pace <-chan time.Duration, out chan<- Sample) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{}), log: new(bytes.Buffer)}
	log := hclog.New(&hclog.LoggerOptions{Output: r.log, JSONFormat: true, Level: hclog.Debug})
	go func() {
		defer close(r.done)
		New(procfs.NewFS(root), 1, nil).Run(ctx, interval, pace, out, log)
	}()
	return r
}

// stop cancels the Run and returns its log lines once it has returned.
func (r *running) stop(t *testing.T) []map[string]any {
	t.Helper()
	r.cancel()
	<-r.done
	var lines []map[string]any
	sc := bufio.NewScanner(r.log)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestRun_EveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		out := make(chan Sample)
		r := startRun(fixtureRoot, time.Second, out)
		for i := 1; i <= 3; i++ {
			smp := <-out
			if want := start.Add(time.Duration(i) * time.Second); !smp.At.Equal(want) {
				t.Errorf("sample %d at %v, want %v", i, smp.At.Sub(start), want.Sub(start))
			}
			if smp.Err != nil || len(smp.Procs) != 4 {
				t.Errorf("sample %d: %d processes, error %v; want the fixture's 4", i, len(smp.Procs), smp.Err)
			}
		}
		if lines := r.stop(t); len(lines) != 0 {
			t.Errorf("logged %v for complete samples", lines)
		}
	})
}

// TestRun_Paced: an interval received on pace applies from then on.
func TestRun_Paced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		out, pace := make(chan Sample), make(chan time.Duration, 1)
		r := startPaced(fixtureRoot, time.Second, pace, out)
		if smp := <-out; !smp.At.Equal(start.Add(time.Second)) {
			t.Errorf("first sample at %v, want 1s", smp.At.Sub(start))
		}
		pace <- 250 * time.Millisecond
		synctest.Wait()
		for i, want := range []time.Duration{1250, 1500, 1750} {
			if smp := <-out; !smp.At.Equal(start.Add(want * time.Millisecond)) {
				t.Errorf("paced sample %d at %v, want %dms", i, smp.At.Sub(start), want)
			}
		}
		pace <- time.Second
		synctest.Wait()
		if smp := <-out; !smp.At.Equal(start.Add(2750 * time.Millisecond)) {
			t.Errorf("sample after slowing down at %v, want 2.75s", smp.At.Sub(start))
		}
		r.stop(t)
	})
}

// TestRun_DropsWhenBusy leaves samples untaken: Run must not wait for the
// owner, and the owner later gets a fresh sample, not a backlog.
func TestRun_DropsWhenBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		out := make(chan Sample, 1)
		r := startRun(fixtureRoot, time.Second, out)
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := len(out); n != 1 {
			t.Fatalf("%d samples waiting, want 1 (the rest dropped)", n)
		}
		if smp := <-out; !smp.At.Equal(start.Add(time.Second)) {
			t.Errorf("waiting sample taken at %v, want 1s", smp.At.Sub(start))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case smp := <-out:
			if !smp.At.Equal(start.Add(4 * time.Second)) {
				t.Errorf("next sample taken at %v, want 4s", smp.At.Sub(start))
			}
		default:
			t.Error("no sample after the owner caught up")
		}
		r.stop(t)
	})
}

func TestRun_ReturnsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRun(fixtureRoot, time.Hour, make(chan Sample))
		synctest.Wait()
		r.cancel()
		synctest.Wait()
		select {
		case <-r.done:
		default:
			t.Fatal("Run still running after cancel")
		}
	})
}

// TestRun_WarnsOncePerMinute samples a root that cannot be read every 10s
// for a little over three minutes: the warning comes at 10s, 70s and 130s.
func TestRun_WarnsOncePerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		root := filepath.Join(t.TempDir(), "no-proc-here")
		out := make(chan Sample, 100)
		r := startRun(root, 10*time.Second, out)
		time.Sleep(185 * time.Second)
		synctest.Wait()
		lines := r.stop(t)
		if n := len(out); n != 18 {
			t.Errorf("%d samples sent, want 18", n)
		}
		var at []time.Duration
		for _, l := range lines {
			if l["@level"] != "warn" || l["@message"] != "sample incomplete" {
				t.Errorf("unexpected log line %v", l)
				continue
			}
			if e, _ := l["error"].(string); !strings.Contains(e, "list processes") {
				t.Errorf("warning's error %q does not say what failed", e)
			}
			ts, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", l["@timestamp"].(string))
			if err != nil {
				t.Fatal(err)
			}
			at = append(at, ts.Sub(start).Round(time.Second))
		}
		want := []time.Duration{10 * time.Second, 70 * time.Second, 130 * time.Second}
		if len(at) != len(want) || at[0] != want[0] || at[1] != want[1] || at[2] != want[2] {
			t.Errorf("warnings at %v, want %v", at, want)
		}
	})
}

// TestRun_PanicRecovered makes Run itself panic (a send on a closed
// channel): the panic is logged and Run returns.
func TestRun_PanicRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := make(chan Sample)
		close(out)
		r := startRun(fixtureRoot, time.Second, out)
		<-r.done
		lines := r.stop(t)
		if len(lines) != 1 {
			t.Fatalf("logged %v, want one panic", lines)
		}
		l := lines[0]
		if l["@level"] != "error" || l["@message"] != "panic recovered" || l["event"] != "sampler" {
			t.Errorf("log line %v, want error \"panic recovered\" with event sampler", l)
		}
		if p, _ := l["panic"].(string); !strings.Contains(p, "closed channel") {
			t.Errorf("panic = %q, want the send on a closed channel", p)
		}
		if s, _ := l["stack"].(string); !strings.Contains(s, "sampler.(*Sampler).Run") {
			t.Errorf("stack does not show Run: %q", s)
		}
	})
}

// TestRun_AwaitsReaping: a sample waits while exited children are not
// reaped yet, up to a quarter of the interval; with none it does not wait.
func TestRun_AwaitsReaping(t *testing.T) {
	for _, c := range []struct {
		name     string
		unreaped int // calls that find an unreaped child
		want     time.Duration
	}{
		{"none", 0, 0},
		{"reaped meanwhile", 5, 5 * reapPoll},
		{"never reaped", 1 << 30, time.Second / 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				smp := New(procfs.NewFS(fixtureRoot), 1, nil)
				calls := 0
				smp.unreaped = func() bool { calls++; return calls <= c.unreaped }
				ctx, cancel := context.WithCancel(context.Background())
				out, done := make(chan Sample), make(chan struct{})
				go func() { defer close(done); smp.Run(ctx, time.Second, nil, out, nil) }()
				<-out
				if got := time.Since(start) - time.Second; got != c.want {
					t.Errorf("sample handed over %v after its tick, want %v", got, c.want)
				}
				cancel()
				<-done
			})
		})
	}
}

// TestExitedChild: an exited child is found until it is reaped, and
// finding it does not reap it.
func TestExitedChild(t *testing.T) {
	if exitedChild() {
		t.Fatal("an exited child before any was started")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}} // readable once it exits
	if n, err := unix.Poll(fds, 10_000); n != 1 || err != nil {
		t.Fatalf("child did not exit: %d, %v", n, err)
	}
	for i := range 2 {
		if !exitedChild() {
			t.Errorf("look %d: the exited child not found before it was reaped", i+1)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("reap: %v", err)
	}
	if exitedChild() {
		t.Error("an exited child found after it was reaped")
	}
}

// TestRun_AwaitEndsWithRun: a sample held back for unreaped children does
// not hold up the end of Run.
func TestRun_AwaitEndsWithRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		smp := New(procfs.NewFS(fixtureRoot), 1, nil)
		smp.unreaped = func() bool { return true }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); smp.Run(ctx, time.Minute, nil, make(chan Sample, 1), nil) }()
		time.Sleep(time.Minute + time.Second) // the sample is waiting, for up to 15 s
		cancel()
		start := time.Now()
		<-done
		if waited := time.Since(start); waited > reapPoll {
			t.Errorf("Run returned %v after cancel, want at once", waited)
		}
	})
}

// TestRun_AwaitsReapingAfterLateTick: a sample whose tick is long past
// when the wait begins (the sampler was stopped, or busy) still waits its
// quarter interval from then, and is stamped when it is read.
func TestRun_AwaitsReapingAfterLateTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		smp := New(procfs.NewFS(fixtureRoot), 1, nil)
		first := true
		smp.unreaped = func() bool {
			if first { // held up from the tick at 1s to 1.9s
				first = false
				time.Sleep(900 * time.Millisecond)
			}
			return true
		}
		ctx, cancel := context.WithCancel(context.Background())
		out, done := make(chan Sample), make(chan struct{})
		go func() { defer close(done); smp.Run(ctx, time.Second, nil, out, nil) }()
		got := <-out
		if want := 1900*time.Millisecond + time.Second/4; time.Since(start) != want {
			t.Errorf("sample handed over at %v, want %v", time.Since(start), want)
		}
		if !got.At.Equal(time.Now()) {
			t.Errorf("sample stamped %v, want when it was read (%v)", got.At.Sub(start), time.Since(start))
		}
		cancel()
		<-done
	})
}
