package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/crinit/crinit/cgroup"
	"github.com/crinit/crinit/probe"
	"github.com/crinit/crinit/sampler"
)

// fakeSelf is crinit's PID inside the fake host.
const fakeSelf = 1

// fakeProc is one process of the fake host.
type fakeProc struct {
	pid, ppid, pgid int
	cmd             string
	alive           bool
	// zombie: dead, not reaped yet; signals still reach it, to no effect.
	zombie bool
	// dying: alive with SIGKILL pending, as the OOM killer's victim is.
	dying bool
	// survives lists the signals the process outlives.
	survives map[syscall.Signal]bool
	// exitOn maps a signal to the exit code the process ends with when it
	// handles that signal, as node does with a SIGTERM handler.
	exitOn map[syscall.Signal]int
	oomAdj int
	notify *io.PipeWriter // the notify pipe's write end; nil without one
}

// sent is one signal the supervisor sent through the host.
type sent struct {
	pid int // negative: a process group
	sig syscall.Signal
}

// fakeHost is a process table in memory. Killing a process queues its exit
// for reap and raises SIGCHLD on the supervisor's signal channel, as the
// kernel would; its children are reparented to crinit.
type fakeHost struct {
	mu       sync.Mutex
	sigs     chan os.Signal
	nextPID  int
	procs    map[int]*fakeProc
	waiting  []exit
	signals  []sent
	started  []int
	startErr []error // returned by the next starts, first first
	mem      *cgroup.Memory
	// child configures each process start creates.
	child     func(p *fakeProc)
	panicIn   string // a method that panics once, then works
	panicSkip int    // calls of panicIn that work before it panics
	reclaimed int
}

func newFakeHost(sigs chan os.Signal) *fakeHost {
	return &fakeHost{sigs: sigs, nextPID: 100, procs: map[int]*fakeProc{}}
}

func (h *fakeHost) maybePanic(method string) {
	if h.panicIn == method && h.panicSkip > 0 {
		h.panicSkip--
		return
	}
	if h.panicIn == method {
		h.panicIn = ""
		panic("fake host: " + method)
	}
}

func (h *fakeHost) start(spec startSpec) (started, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maybePanic("start")
	if len(h.startErr) > 0 {
		err := h.startErr[0]
		h.startErr = h.startErr[1:]
		if err != nil {
			return started{}, err
		}
	}
	p := h.add(fakeSelf, strings.Join(spec.argv, " "))
	p.pgid = p.pid
	if h.child != nil {
		h.child(p)
	}
	h.started = append(h.started, p.pid)
	st := started{pid: p.pid}
	if spec.notify {
		r, w := io.Pipe()
		st.notes, p.notify = r, w
	}
	return st, nil
}

// notify writes msg to pid's notify pipe, as the child would.
func (h *fakeHost) notify(pid int, msg string) error {
	h.mu.Lock()
	w := h.procs[pid].notify
	h.mu.Unlock()
	_, err := io.WriteString(w, msg+"\n")
	return err
}

// add creates a living process; the caller holds mu.
func (h *fakeHost) add(ppid int, cmd string) *fakeProc {
	h.nextPID++
	p := &fakeProc{pid: h.nextPID, ppid: ppid, pgid: h.nextPID, cmd: cmd, alive: true,
		survives: map[syscall.Signal]bool{}, exitOn: map[syscall.Signal]int{}}
	if parent := h.procs[ppid]; parent != nil {
		p.pgid = parent.pgid
	}
	h.procs[p.pid] = p
	return p
}

// spawn adds a process under ppid, in ppid's group, as the child would.
func (h *fakeHost) spawn(ppid int, cmd string, configure func(*fakeProc)) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.add(ppid, cmd)
	if configure != nil {
		configure(p)
	}
	return p.pid
}

func (h *fakeHost) signal(pid int, sig syscall.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maybePanic("signal")
	var targets []*fakeProc
	for _, p := range h.procs {
		if (p.alive || p.zombie) && (p.pid == pid || pid < 0 && p.pgid == -pid) {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		return nil // ESRCH, which the real host ignores too
	}
	h.signals = append(h.signals, sent{pid, sig})
	for _, p := range targets {
		if p.alive {
			h.deliver(p, sig)
		}
	}
	return nil
}

// deliver applies sig to p; the caller holds mu.
func (h *fakeHost) deliver(p *fakeProc, sig syscall.Signal) {
	if code, ok := p.exitOn[sig]; ok && sig != syscall.SIGKILL {
		h.die(p, exited(code))
		return
	}
	switch {
	case p.survives[sig]: // SIGKILL too: a process stuck in the kernel
	case sig == syscall.SIGUSR2, sig == syscall.SIGCHLD, sig == syscall.SIGWINCH:
	default:
		h.die(p, signaled(sig))
	}
}

// die ends p with ws; the caller holds mu.
func (h *fakeHost) die(p *fakeProc, ws syscall.WaitStatus) {
	p.alive = false
	for _, c := range h.procs {
		if c.ppid == p.pid {
			c.ppid = fakeSelf
		}
	}
	if p.ppid == fakeSelf {
		p.zombie = true
		h.waiting = append(h.waiting, exit{pid: p.pid, status: ws})
		select {
		case h.sigs <- syscall.SIGCHLD:
		default: // a SIGCHLD is pending already: signals coalesce
		}
	}
}

// exit ends pid by itself with ws, as if it exited or crashed.
func (h *fakeHost) exit(pid int, ws syscall.WaitStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.procs[pid]; p != nil && p.alive {
		h.die(p, ws)
	}
}

func (h *fakeHost) descendants() ([]proc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maybePanic("descendants")
	var out []proc
	queue := []int{fakeSelf}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		var kids []int
		for _, p := range h.procs {
			if p.alive && p.ppid == parent {
				kids = append(kids, p.pid)
			}
		}
		slices.Sort(kids)
		for _, k := range kids {
			out = append(out, proc{PID: k, PPID: parent, Command: h.procs[k].cmd})
		}
		queue = append(queue, kids...)
	}
	return out, nil
}

// fates lists every process not yet reaped; the fake host's processes
// are all crinit's descendants.
func (h *fakeHost) fates() ([]fated, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []fated
	for _, p := range h.procs {
		if !p.alive && !p.zombie {
			continue
		}
		f := fated{proc: proc{PID: p.pid, PPID: p.ppid}, dying: p.zombie || p.dying, zombie: p.zombie}
		if f.dying {
			f.Command = p.cmd
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b fated) int { return a.PID - b.PID })
	return out, nil
}

func (h *fakeHost) reap() []exit {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.waiting
	h.waiting = nil
	for _, e := range out {
		h.procs[e.pid].zombie = false
	}
	return out
}

func (h *fakeHost) oomKills() (uint64, bool) {
	m, ok := h.memory()
	return m.OOMKills, ok
}

func (h *fakeHost) memory() (cgroup.Memory, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maybePanic("memory")
	if h.mem == nil {
		return cgroup.Memory{}, false
	}
	return *h.mem, true
}

func (h *fakeHost) setOOMScore(pid, adj int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.procs[pid]; p != nil {
		p.oomAdj = adj
		return nil
	}
	return errors.New("no such process")
}

func (h *fakeHost) raiseOOMScore(pid, adj int) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.procs[pid]
	if p == nil || p.oomAdj >= adj {
		return 0, false
	}
	from := p.oomAdj
	p.oomAdj = adj
	return from, true
}

func (h *fakeHost) command(pid int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.procs[pid]; p != nil && p.alive {
		return p.cmd
	}
	return ""
}

func (h *fakeHost) takesHeapSnapshot(pid int) bool {
	return strings.Contains(h.command(pid), snapshotFlag)
}

func (h *fakeHost) reclaimTerminal() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reclaimed++
	return nil
}

// sentTo returns the signals sent to target (a pid, or -pgid).
func (h *fakeHost) sentTo(target int) []syscall.Signal {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []syscall.Signal
	for _, s := range h.signals {
		if s.pid == target {
			out = append(out, s.sig)
		}
	}
	return out
}

// pids returns the children started so far.
func (h *fakeHost) pids() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.started)
}

func (h *fakeHost) setOOMKills(n uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mem == nil {
		h.mem = &cgroup.Memory{}
	}
	h.mem.OOMKills = n
}

// rig runs one supervisor against a fake host inside a synctest bubble:
// time is fake, and wait returns once the loop has handled everything.
type rig struct {
	t       *testing.T
	h       *fakeHost
	s       *Supervisor
	sigs    chan os.Signal
	samples chan sampler.Sample
	probes  chan probe.Result
	panics  chan workerPanic
	log     *syncBuffer
	code    chan int
	ended   chan struct{}
	notes   chan note
	memEv   chan cgroup.Events
}

// testConfig is a configuration with the CLI's defaults.
func testConfig() Config {
	return Config{
		Argv:           []string{"node", "server.js"},
		ForwardTo:      ForwardGroup,
		StopTimeout:    8 * time.Second,
		RemnantTimeout: 2 * time.Second,
		KillTimeout:    5 * time.Second,
		Restart: Policy{Mode: OnFailure, Delay: time.Second, DelayMax: 10 * time.Second,
			MinUptime: 30 * time.Second, Max: 10, Window: 2 * time.Minute},
		RSSGrace:    2,
		OOMScoreAdj: 500,
	}
}

// startRig starts the supervisor; call it inside synctest.Test. setup, when
// not nil, configures the host before the first child starts.
func startRig(t *testing.T, cfg Config, setup func(*fakeHost)) *rig {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	r := &rig{t: t, sigs: make(chan os.Signal, sigBuffer), samples: make(chan sampler.Sample),
		probes: make(chan probe.Result), panics: make(chan workerPanic, 1), log: &syncBuffer{}, code: make(chan int, 1)}
	r.h = newFakeHost(r.sigs)
	if setup != nil {
		setup(r.h)
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "crinit", Level: hclog.Debug, Output: r.log, JSONFormat: true})
	r.s = newSupervisor(cfg, log, r.h, fakeSelf)
	if cfg.Probe != nil {
		r.s.probeIvl = make(chan time.Duration, 1)
	}
	if cfg.SampleInterval > 0 {
		r.s.sampleIvl, r.s.sampleAt = make(chan time.Duration, 1), cfg.SampleInterval
	}
	r.ended, r.notes, r.memEv = make(chan struct{}), make(chan note), make(chan cgroup.Events)
	go func() {
		defer close(r.ended)
		r.code <- r.s.run(inputs{sigs: r.sigs, samples: r.samples, probes: r.probes, panics: r.panics, notes: r.notes, events: r.memEv})
	}()
	t.Cleanup(r.end)
	synctest.Wait()
	return r
}

// end ends a loop a failed test left running, so that its bubble can
// exit: every process dies and crinit is told to shut down.
func (r *rig) end() {
	select {
	case <-r.ended:
		return
	default:
	}
	r.h.mu.Lock()
	for _, p := range r.h.procs {
		if p.alive {
			r.h.die(p, signaled(syscall.SIGKILL))
		}
	}
	r.h.mu.Unlock()
	r.sigs <- syscall.SIGTERM
	r.sleep(time.Hour)
	<-r.ended
}

// signal delivers sig to crinit and waits until the loop is idle.
func (r *rig) signal(sig syscall.Signal) {
	r.sigs <- sig
	synctest.Wait()
}

// sleep lets fake time pass and waits until the loop is idle.
func (r *rig) sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// sample hands the loop one sample taken now.
func (r *rig) sample(smp sampler.Sample) {
	if smp.At.IsZero() {
		smp.At = time.Now()
	}
	r.samples <- smp
	synctest.Wait()
}

// probe hands the loop one probe result started now.
func (r *rig) probe(ok bool) {
	res := probe.Result{Start: time.Now(), OK: ok, Duration: time.Millisecond}
	if !ok {
		res.Cause, res.Err = probe.CauseRefused, errors.New("connection refused")
	}
	r.probes <- res
	synctest.Wait()
}

// child returns the PID of the current child.
func (r *rig) child() int {
	r.t.Helper()
	st := r.s.Status()
	if st.Child == nil {
		r.t.Fatalf("no child running; state %s", st.State)
	}
	return st.Child.PID
}

// exitCode waits for Run to return.
func (r *rig) exitCode() int {
	r.t.Helper()
	select {
	case code := <-r.code:
		return code
	default:
		r.t.Fatalf("supervisor still running, state %s; log:\n%s", r.s.Status().State, r.log)
		return -1
	}
}

// running fails the test when Run has returned.
func (r *rig) running() {
	r.t.Helper()
	select {
	case code := <-r.code:
		r.t.Fatalf("supervisor exited %d; log:\n%s", code, r.log)
	default:
	}
}

// stop ends a rig whose supervisor still runs, with a SIGTERM and as much
// fake time as the stop may take.
func (r *rig) stop() int {
	r.t.Helper()
	r.signal(syscall.SIGTERM)
	r.sleep(time.Minute)
	return r.exitCode()
}

// events returns the log's lines as maps.
func (r *rig) events() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.log.String()), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			r.t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// messages returns the log's messages in order.
func (r *rig) messages() []string {
	var out []string
	for _, e := range r.events() {
		out = append(out, fmt.Sprint(e["@message"]))
	}
	return out
}

// find returns the log events with message msg.
func (r *rig) find(msg string) []map[string]any {
	var out []map[string]any
	for _, e := range r.events() {
		if e["@message"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// has fails the test unless the log holds msgs in this order (other lines
// may come between).
func (r *rig) has(msgs ...string) {
	r.t.Helper()
	got := r.messages()
	i := 0
	for _, m := range got {
		if i < len(msgs) && m == msgs[i] {
			i++
		}
	}
	if i < len(msgs) {
		r.t.Fatalf("log lacks %q (in order %q); messages: %q", msgs[i], msgs, got)
	}
}

// lacks fails the test when the log holds msg.
func (r *rig) lacks(msg string) {
	r.t.Helper()
	if slices.Contains(r.messages(), msg) {
		r.t.Fatalf("log has %q; log:\n%s", msg, r.log)
	}
}

// lastExit returns the reason and code of the last child's exit.
func (r *rig) lastExit() (Reason, int) {
	r.t.Helper()
	e := r.s.Status().LastExit
	if e == nil {
		r.t.Fatal("no child has exited")
	}
	return e.Reason, e.Code
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestProber gives a Config a prober. The rig feeds its results through
// the loop's channel, so the prober itself never runs.
func newTestProber(t *testing.T) *probe.Prober {
	t.Helper()
	target, err := probe.ParseTarget("http://127.0.0.1:1/healthz")
	if err != nil {
		t.Fatalf("probe target: %v", err)
	}
	return probe.NewProber(target, time.Second)
}
