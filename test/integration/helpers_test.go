package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// helperEnv selects the helper mode when this test binary runs as a child.
const helperEnv = "CRINIT_TEST_HELPER"

// runHelper plays a child of crinit. Each mode prints lines that tests wait
// for, so that no test has to sleep.
func runHelper(mode string, args []string) int {
	switch mode {
	case "signals":
		return helperSignals(args)
	case "slowterm":
		return helperSlowTerm()
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
		fmt.Println("ignoreterm ready")
		for {
			time.Sleep(time.Hour) // wait to be killed; select{} would be a deadlock panic
		}
	case "orphans":
		return helperOrphans(args)
	case "spawner":
		return helperSpawner(args)
	case "reparent":
		return helperReparent()
	case "remnants":
		return helperRemnants()
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 99
}

// helperSignals prints "<role> got N" for every signal it receives and
// exits 0 on SIGTERM, SIGINT or SIGQUIT. With "grandchild" it first starts
// a copy of itself in its own process group, role "grandchild".
func helperSignals(args []string) int {
	role := "child"
	if len(args) > 0 && args[0] == "as-grandchild" {
		role = "grandchild"
	}
	c := make(chan os.Signal, 256)
	var sigs []os.Signal
	for n := 1; n <= 64; n++ {
		switch s := syscall.Signal(n); s {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGURG, syscall.SIGCHLD:
		default:
			sigs = append(sigs, s)
		}
	}
	signal.Notify(c, sigs...)
	if len(args) > 0 && args[0] == "with-grandchild" {
		gc := exec.Command(os.Args[0], "as-grandchild")
		gc.Env = append(os.Environ(), helperEnv+"=signals")
		gc.Stdout, gc.Stderr = os.Stdout, os.Stderr
		if err := gc.Start(); err != nil {
			fmt.Println("child error", err)
			return 1
		}
	}
	if len(args) > 0 && args[0] == "report-tty" {
		// Fields 5 and 8 of /proc/self/stat: process group, terminal's
		// foreground process group.
		b, err := os.ReadFile("/proc/self/stat")
		if err != nil {
			fmt.Println("child error", err)
			return 1
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		fmt.Printf("child tty pgrp %s tpgid %s\n", f[2], f[5])
	}
	fmt.Printf("%s ready %d\n", role, os.Getpid())
	for s := range c {
		n := int(s.(syscall.Signal))
		fmt.Printf("%s got %d\n", role, n)
		switch s {
		case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
			return 0
		}
	}
	return 0
}

// helperSlowTerm takes one second to shut down after SIGTERM.
func helperSlowTerm() int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println("slowterm ready")
	<-c
	fmt.Println("slowterm stopping")
	time.Sleep(time.Second) // the behaviour under test: a slow shutdown
	fmt.Println("slowterm done")
	return 0
}

// helperOrphans makes N orphans through a spawner that exits at once, then
// watches /proc until no zombie is left and prints "zombies K".
func helperOrphans(args []string) int {
	sp := exec.Command(os.Args[0], args...)
	sp.Env = append(os.Environ(), helperEnv+"=spawner")
	sp.Stdout, sp.Stderr = os.Stdout, os.Stderr
	if err := sp.Run(); err != nil {
		fmt.Println("orphans error", err)
		return 1
	}
	deadline := time.Now().Add(20 * time.Second)
	z := zombies()
	for z > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling /proc: the kernel sends no event for it
		z = zombies()
	}
	fmt.Printf("zombies %d\n", z)
	return 0
}

// helperSpawner starts N short-lived processes it never waits for.
func helperSpawner(args []string) int {
	n, _ := strconv.Atoi(args[0])
	attr := &syscall.ProcAttr{Files: []uintptr{0, 1, 2}}
	for i := 0; i < n; i++ {
		if _, err := syscall.ForkExec("/bin/true", []string{"true"}, attr); err != nil {
			fmt.Println("spawner error", err)
			return 1
		}
	}
	fmt.Printf("spawned %d\n", n)
	return 0
}

// zombies counts processes in state Z in this PID namespace.
func zombies() int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	n := 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i+1:], " Z") {
			n++
		}
	}
	return n
}

// helperReparent starts "sleep 60" through an intermediate that exits,
// then prints the orphan's new parent: "reparent <pid> ppid <ppid>".
func helperReparent() int {
	inter := exec.Command("sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!")
	out, err := inter.Output() // waits for the intermediate: the orphan is reparented by then
	if err != nil {
		fmt.Println("reparent error", err)
		return 1
	}
	pid := strings.TrimSpace(string(out))
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		fmt.Println("reparent error", err)
		return 1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	fmt.Printf("reparent %s ppid %s\n", pid, f[1])
	return 0
}

// helperRemnants leaves three processes behind and exits: one in its
// process group, one in a session of its own, and one that ignores
// SIGTERM. It prints "remnants PID PID PID".
func helperRemnants() int {
	start := func(sys *syscall.SysProcAttr, sec string) int {
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", sec}, &syscall.ProcAttr{Sys: sys})
		if err != nil {
			fmt.Println("remnants error", err)
			os.Exit(1)
		}
		return pid
	}
	a := start(nil, "300")
	b := start(&syscall.SysProcAttr{Setsid: true}, "301")
	signal.Ignore(syscall.SIGTERM) // inherited across exec by the next one
	c := start(nil, "302")
	fmt.Printf("remnants %d %d %d\n", a, b, c)
	return 0
}
