package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crinit/crinit/limits"
	"github.com/crinit/crinit/supervisor"
)

// The parsers below read one flag value each and say what is wrong with
// it; the caller names the flag.

// Bounds of durations and counts that would break crinit if allowed.
const (
	minNofile   = 64
	minInterval = 100 * time.Millisecond // sampling or probing more often is a busy loop
	maxDelay    = 24 * time.Hour         // doubling longer delays would overflow
)

// boundedDuration is parseDuration for a duration in [lo, hi].
func boundedDuration(s string, lo, hi time.Duration) (time.Duration, error) {
	d, err := parseDuration(s)
	switch {
	case err != nil:
		return 0, err
	case d < lo:
		return 0, fmt.Errorf("must be at least %s", lo)
	case d > hi:
		return 0, fmt.Errorf("must be at most %s", hi)
	}
	return d, nil
}

// positiveDuration is parseDuration for durations that must not be 0.
func positiveDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err == nil && d == 0 {
		return 0, errors.New("must be above 0")
	}
	return d, err
}

// parseBool reads true/false (also 1/0, yes/no).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no", "":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// parseCount reads a non-negative whole number.
func parseCount(s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, errors.New("want a whole number, 0 or more")
	}
	return n, nil
}

// parseSizeBytes is limits.ParseSize as a plain byte count.
func parseSizeBytes(s string) (uint64, error) {
	size, err := limits.ParseSize(s)
	return uint64(size), err
}

// parseHeapMiB reads node's heap size: a bare number is MiB, as node takes
// it; a value with a unit is a size, which must be a whole number of MiB.
func parseHeapMiB(s string) (uint64, error) {
	if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
		return n, nil
	}
	size, err := limits.ParseSize(s)
	if err != nil {
		return 0, err
	}
	if size%limits.MiB != 0 {
		return 0, errors.New("must be a whole number of MiB")
	}
	return uint64(size / limits.MiB), nil
}

// parseDuration reads a Go duration such as 10s or 1m30s, 0 or more.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("want a duration such as 500ms, 10s or 1m")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// parseReloadSignal reads a signal by name (SIGHUP, HUP, hup) or number.
// Signals crinit cannot catch or keeps for itself are refused.
func parseReloadSignal(s string) (syscall.Signal, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	var sig syscall.Signal
	if n, err := strconv.Atoi(s); err == nil {
		sig = syscall.Signal(n)
	} else {
		if !strings.HasPrefix(s, "SIG") {
			s = "SIG" + s
		}
		sig = unix.SignalNum(s)
	}
	switch {
	case sig <= 0 || sig > 64:
		return 0, errors.New("want a signal name such as SIGHUP, or its number")
	case sig == syscall.SIGKILL || sig == syscall.SIGSTOP || sig == syscall.SIGCHLD || sig == syscall.SIGURG || (sig >= 32 && sig <= 34):
		return 0, errors.New("crinit cannot catch that signal or keeps it for itself")
	case sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT:
		return 0, errors.New("that signal already means shut down")
	}
	return sig, nil
}

// parsePressureLimit reads --memory-pressure-limit: "SHARE%/WINDOW" (a
// share above 0% and at most 100%, a window of 1s to a day), or 0.
func parsePressureLimit(s string) (supervisor.PressureLimit, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return supervisor.PressureLimit{}, nil
	}
	share, window, ok := strings.Cut(t, "/")
	p, isShare := strings.CutSuffix(strings.TrimSpace(share), "%")
	if !ok || !isShare {
		return supervisor.PressureLimit{}, errors.New("want a share of time and a window, such as 60%/30s, or 0")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
	if err != nil || !(f > 0 && f <= 100) {
		return supervisor.PressureLimit{}, errors.New("the share must be above 0% and at most 100%")
	}
	d, err := boundedDuration(window, time.Second, maxDelay)
	if err != nil {
		return supervisor.PressureLimit{}, fmt.Errorf("the window: %w", err)
	}
	return supervisor.PressureLimit{Share: f / 100, Window: d}, nil
}
