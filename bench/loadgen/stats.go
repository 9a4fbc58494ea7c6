package main

import (
	"errors"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Kind is how one request ended.
type Kind int

// The outcomes of a request. Every failure is exactly one of them.
const (
	KindOK      Kind = iota // 200 and a complete body
	KindRefused             // connect(2) got ECONNREFUSED: nothing listening
	KindReset               // the connection was reset or closed before a complete answer
	KindTimeout             // no complete answer within the deadline
	KindStatus              // a complete answer with a status other than 200
	KindOther               // anything else (the first one is kept in Report.OtherSample)
)

// StatusError is a complete answer whose status is not 200.
type StatusError struct{ Code int }

func (e StatusError) Error() string { return "http status " + strconv.Itoa(e.Code) }

// Classify says which Kind of outcome err is; nil is KindOK.
func Classify(err error) Kind {
	var status StatusError
	var netErr net.Error
	switch {
	case err == nil:
		return KindOK
	case errors.As(err, &status):
		return KindStatus
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	// Before reset: a deadline that passes mid-read is not the peer's doing.
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	// A process that dies closes its connections: RST if it had unread
	// data, FIN otherwise, which the client reads as EOF.
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindReset
	}
	return KindOther
}

// Sample is one request.
type Sample struct {
	End     time.Duration // when it ended, from the start of the run
	Latency time.Duration // from its start (connect included) to its end
	Kind    Kind
	Pid     int   // the pid in the answer; 0 when none
	Err     error // nil for KindOK
}

// Failures counts the failed requests by Kind.
type Failures struct {
	Refused int `json:"refused"`
	Reset   int `json:"reset"`
	Timeout int `json:"timeout"`
	Status  int `json:"status"`
	Other   int `json:"other"`
}

// Report is loadgen's result, printed as one JSON line. Latencies are those
// of the successful requests only: a failure's latency says how it failed
// (refused at once, timed out after the deadline), not how fast the
// service was.
type Report struct {
	Requests    int      `json:"requests"`
	OK          int      `json:"ok"`
	Failed      int      `json:"failed"`
	FailedBy    Failures `json:"failed_by"`
	Pids        int      `json:"pids"`     // distinct pids that answered
	PidList     []int    `json:"pid_list"` // those pids, in increasing order
	Restarts    int      `json:"restarts"` // Pids - instances, never below 0
	MaxGapMs    float64  `json:"max_gap_ms"`
	P50Ms       float64  `json:"p50_ms"`
	P99Ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	OtherSample string   `json:"other_sample,omitempty"` // the first KindOther error
}

// Summarize turns the samples of a run that lasted d into a Report;
// instances is how many processes serve at once, so that restarts are the
// pids seen beyond them. The order of samples does not matter.
func Summarize(samples []Sample, d time.Duration, instances int) Report {
	var r Report
	pids := map[int]bool{}
	var ends, lats []time.Duration
	for _, s := range samples {
		r.Requests++
		switch s.Kind {
		case KindOK:
			r.OK++
			ends = append(ends, s.End)
			lats = append(lats, s.Latency)
			if s.Pid > 0 {
				pids[s.Pid] = true
			}
			continue
		case KindRefused:
			r.FailedBy.Refused++
		case KindReset:
			r.FailedBy.Reset++
		case KindTimeout:
			r.FailedBy.Timeout++
		case KindStatus:
			r.FailedBy.Status++
		default:
			r.FailedBy.Other++
			if r.OtherSample == "" && s.Err != nil {
				r.OtherSample = s.Err.Error()
			}
		}
		r.Failed++
	}
	r.Pids = len(pids)
	r.PidList = append([]int{}, slices.Sorted(maps.Keys(pids))...) // [], not null, when none
	r.Restarts = max(r.Pids-instances, 0)
	r.MaxGapMs = ms(LongestGap(ends, d))
	slices.Sort(lats)
	r.P50Ms = ms(Percentile(lats, 50))
	r.P99Ms = ms(Percentile(lats, 99))
	if len(lats) > 0 {
		r.MaxMs = ms(lats[len(lats)-1])
	}
	return r
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted:
// the smallest value with at least p % of the values at or below it. 0 for
// no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// LongestGap is the longest time between two successive times in ends (in
// any order): the longest a client went without a successful answer. With
// fewer than two, there is no gap to measure and it is the whole run, d.
func LongestGap(ends []time.Duration, d time.Duration) time.Duration {
	if len(ends) < 2 {
		return d
	}
	sorted := slices.Sorted(slices.Values(ends))
	var gap time.Duration
	for i := 1; i < len(sorted); i++ {
		gap = max(gap, sorted[i]-sorted[i-1])
	}
	return gap
}

// ms is d in milliseconds, to a tenth.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}
