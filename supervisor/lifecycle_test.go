package supervisor

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestEnter walks every pair of phases: only the moves next allows
// change a generation, and a generation never moves back.
func TestEnter(t *testing.T) {
	phases := []Phase{PhaseStarting, PhaseRunning, PhaseDraining, PhaseStopping, PhaseCleaning, PhaseExited}
	cfg := testConfig()
	for i, from := range phases {
		for j, to := range phases {
			g := newGeneration(1, 100, false, time.Unix(0, 0), &cfg, 0, 0)
			g.phase = from
			deadline := time.Unix(60, 0)
			err := g.enter(to, deadline)
			allowed := slices.Contains(next(from), to)
			if allowed && j <= i {
				t.Errorf("%s → %s allowed: a generation must only move forward", from, to)
			}
			switch {
			case allowed && (err != nil || g.phase != to || !g.deadline.Equal(deadline)):
				t.Errorf("%s → %s: err %v, phase %s, deadline %v", from, to, err, g.phase, g.deadline)
			case !allowed && (err == nil || g.phase != from):
				t.Errorf("%s → %s: err %v, phase %s; want refused", from, to, err, g.phase)
			}
		}
	}
}

// TestMove_Invalid: a move the lifecycle refuses is logged as a bug.
func TestMove_Invalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		g := r.s.current
		if r.s.move(g, PhaseStarting, time.Time{}) {
			t.Fatal("running → starting allowed")
		}
		r.has("invalid transition")
		r.stop()
	})
}

// TestRemnants_TwoGenerations: while one generation is cleared, the tree
// of another living one is not its remnant.
func TestRemnants_TwoGenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, testConfig(), nil)
		old := r.s.current
		oldWorker := r.h.spawn(old.pid, "node worker.js", nil)
		st, err := r.h.start(startSpec{argv: []string{"node", "server.js"}})
		if err != nil {
			t.Fatal(err)
		}
		pid := st.pid
		young := newGeneration(2, pid, false, time.Now(), &r.s.cfg, 0, 0)
		youngWorker := r.h.spawn(pid, "node worker.js", nil)
		grandchild := r.h.spawn(youngWorker, "sh", nil)
		r.s.gens = append(r.s.gens, young)
		orphan := r.h.spawn(fakeSelf, "sh -c setsid", nil)

		left, err := r.s.remnants(old)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, p := range left {
			got = append(got, p.PID)
		}
		if want := []int{old.pid, orphan, oldWorker}; !slices.Equal(got, want) {
			t.Errorf("remnants of the old generation %v, want %v (not %d, %d, %d)", got, want, pid, youngWorker, grandchild)
		}
		r.s.gens = r.s.gens[:1]
		r.h.exit(pid, exited(0))
		r.stop()
	})
}
