package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const msec = time.Millisecond

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * msec
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 99, 0},
		{"one", []time.Duration{7 * msec}, 99, 7 * msec},
		{"one, p50", []time.Duration{7 * msec}, 50, 7 * msec},
		{"median of an even count is the lower middle", []time.Duration{1, 2, 3, 4}, 50, 2},
		{"median of an odd count", []time.Duration{1, 2, 3}, 50, 2},
		{"p99 of 100", hundred, 99, 99 * msec},
		{"p100 is the max", hundred, 100, 100 * msec},
		{"p99 of 10 is the max", hundred[:10], 99, 10 * msec},
		{"p1 of 100", hundred, 1, 1 * msec},
		{"tiny p is the min", hundred, 0.001, 1 * msec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestLongestGap(t *testing.T) {
	const d = 45 * time.Second
	tests := []struct {
		name string
		ends []time.Duration
		want time.Duration
	}{
		{"none: the whole run", nil, d},
		{"one: the whole run", []time.Duration{time.Second}, d},
		{"two", []time.Duration{time.Second, 3 * time.Second}, 2 * time.Second},
		{"steady", []time.Duration{10 * msec, 20 * msec, 30 * msec}, 10 * msec},
		{"one hole", []time.Duration{10 * msec, 20 * msec, 520 * msec, 530 * msec}, 500 * msec},
		{"unsorted", []time.Duration{520 * msec, 10 * msec, 530 * msec, 20 * msec}, 500 * msec},
		{"equal times", []time.Duration{5 * msec, 5 * msec}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LongestGap(tt.ends, d); got != tt.want {
				t.Errorf("LongestGap(%v) = %v, want %v", tt.ends, got, tt.want)
			}
		})
	}
	t.Run("does not reorder its input", func(t *testing.T) {
		ends := []time.Duration{3, 1, 2}
		LongestGap(ends, d)
		if ends[0] != 3 || ends[1] != 1 || ends[2] != 2 {
			t.Errorf("ends = %v after LongestGap, want [3 1 2]", ends)
		}
	})
}

// timeoutError is a net.Error that timed out but is not os.ErrDeadlineExceeded.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	op := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, KindOK},
		{"refused", op("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), KindRefused},
		{"reset on read", op("read", os.NewSyscallError("read", syscall.ECONNRESET)), KindReset},
		{"broken pipe on write", op("write", os.NewSyscallError("write", syscall.EPIPE)), KindReset},
		{"EOF before the answer", io.EOF, KindReset},
		{"EOF in the body", fmt.Errorf("body: %w", io.ErrUnexpectedEOF), KindReset},
		{"deadline", op("read", os.ErrDeadlineExceeded), KindTimeout},
		{"dial timeout", op("dial", timeoutError{}), KindTimeout},
		{"status", StatusError{Code: 503}, KindStatus},
		{"wrapped status", fmt.Errorf("answer: %w", StatusError{Code: 502}), KindStatus},
		{"no address", op("dial", os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)), KindOther},
		{"malformed answer", errors.New(`malformed HTTP response "hello"`), KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ok := func(end, lat time.Duration, pid int) Sample {
		return Sample{End: end, Latency: lat, Kind: KindOK, Pid: pid}
	}
	fail := func(end time.Duration, kind Kind, err error) Sample {
		return Sample{End: end, Latency: msec, Kind: kind, Err: err}
	}
	t.Run("a restart", func(t *testing.T) {
		samples := []Sample{
			ok(10*msec, 2*msec, 100),
			ok(20*msec, 4*msec, 100),
			fail(30*msec, KindReset, io.EOF),
			fail(40*msec, KindRefused, syscall.ECONNREFUSED),
			fail(50*msec, KindRefused, syscall.ECONNREFUSED),
			fail(2050*msec, KindTimeout, os.ErrDeadlineExceeded),
			ok(320*msec, 300*msec, 101), // out of order: another client's
			fail(330*msec, KindStatus, StatusError{Code: 503}),
			fail(340*msec, KindOther, errors.New("first other")),
			fail(350*msec, KindOther, errors.New("second other")),
			ok(330*msec, 1*msec, 0), // no pid in the answer
		}
		got := Summarize(samples, 45*time.Second, 1)
		want := Report{
			Requests: 11, OK: 4, Failed: 7,
			FailedBy: Failures{Refused: 2, Reset: 1, Timeout: 1, Status: 1, Other: 2},
			Pids:     2, PidList: []int{100, 101}, Restarts: 1,
			MaxGapMs: 300, P50Ms: 2, P99Ms: 300, MaxMs: 300,
			OtherSample: "first other",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Summarize:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("nothing answered", func(t *testing.T) {
		samples := []Sample{fail(msec, KindRefused, syscall.ECONNREFUSED), fail(2*msec, KindRefused, syscall.ECONNREFUSED)}
		got := Summarize(samples, 20*time.Second, 1)
		want := Report{Requests: 2, Failed: 2, FailedBy: Failures{Refused: 2}, PidList: []int{}, MaxGapMs: 20000}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Summarize:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("instances are not restarts", func(t *testing.T) {
		samples := []Sample{ok(msec, msec, 10), ok(2*msec, msec, 11), ok(3*msec, msec, 12)}
		samples = append(samples, ok(4*msec, msec, 10))
		if got := Summarize(samples, time.Second, 2); got.Pids != 3 || got.Restarts != 1 || !reflect.DeepEqual(got.PidList, []int{10, 11, 12}) {
			t.Errorf("pids %d %v restarts %d, want 3 [10 11 12] and 1", got.Pids, got.PidList, got.Restarts)
		}
		// One instance never answered: fewer pids than instances is no restart.
		if got := Summarize(samples[:1], time.Second, 2); got.Restarts != 0 {
			t.Errorf("restarts %d, want 0", got.Restarts)
		}
	})
	t.Run("milliseconds to a tenth", func(t *testing.T) {
		samples := []Sample{ok(msec, 1234567*time.Nanosecond, 1)}
		if got := Summarize(samples, time.Second, 1); got.MaxMs != 1.2 || got.P50Ms != 1.2 {
			t.Errorf("max %v p50 %v, want 1.2 and 1.2", got.MaxMs, got.P50Ms)
		}
	})
}
