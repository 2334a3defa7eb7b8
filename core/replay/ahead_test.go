package replay

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/pennyllm/penny/core/plan"
)

// aheadPlanner plans ahead with the fixture's planner; its plans stay
// valid while the cache has not changed at all (a coarser check than the
// real cache's, which is tested in core/cache). stale makes them always
// valid, which is wrong.
type aheadPlanner struct {
	*plan.Planner
	c     *memCache
	stale bool
}

func (a *aheadPlanner) version() int {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	return a.c.puts
}

func (a *aheadPlanner) PlanAhead(ctx context.Context, prompt string, opts plan.Options) (plan.Plan, func() bool, error) {
	v := a.version()
	pl, err := a.Plan(ctx, prompt, opts)
	return pl, func() bool { return a.stale || a.version() == v }, err
}

func repeatsTraffic(n int) *Traffic {
	var reqs []Request
	for i := range n {
		// Pairs in a row (a plan made ahead of its twin's fill goes
		// stale) and the same again much later.
		r := Request{Prompt: fmt.Sprintf("question %d", (i/2)%(n/5+1)), User: fmt.Sprint("u", i%5)}
		switch i % 9 {
		case 4:
			r.Prompt = "please prove " + r.Prompt // routed to the strong model
		case 7:
			r.System = "be brief"
		case 8:
			r.Prompt = "" // fails to plan, the same way ahead or in turn
		}
		reqs = append(reqs, r)
	}
	return traffic(reqs...)
}

// TestPlanAheadReportIsTheSame: with planners planning ahead on 1, 2 or 3
// goroutines the report is exactly the one-at-a-time report, plans that
// went stale are made again, and a planner that keeps stale plans is
// caught (the report differs), so the comparison can fail.
func TestPlanAheadReportIsTheSame(t *testing.T) {
	tr := repeatsTraffic(600)
	run := func(planners int, stale bool) (Report, int, int) {
		f := newFixture(t)
		r := f.runner(t, Config{Planners: planners})
		r.planner = &aheadPlanner{Planner: f.planner, c: f.exec.c, stale: stale}
		rep, err := r.Run(context.Background(), tr)
		if err != nil {
			t.Fatal(err)
		}
		rep.ElapsedSeconds, rep.RequestsPerSecond = 0, 0
		ahead, again := r.PlannedAhead()
		return rep, ahead, again
	}
	want, ahead, _ := run(-1, false)
	if ahead != 0 {
		t.Fatalf("Planners -1 planned %d ahead", ahead)
	}
	if want.CacheHits == 0 || want.Failed == 0 || len(want.ByModel) < 2 {
		t.Fatalf("the traffic does not exercise hits, failures and routing: %+v", want)
	}
	for _, n := range []int{1, 2, 3} {
		got, ahead, again := run(n, false)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d planners: report\n%+v\nwant\n%+v", n, got, want)
		}
		if ahead != len(tr.Requests) || again == 0 || again == ahead {
			t.Errorf("%d planners: %d planned ahead, %d again", n, ahead, again)
		}
	}
	if got, _, _ := run(2, true); reflect.DeepEqual(got, want) {
		t.Error("stale plans kept, yet the report is the same: the comparison cannot fail")
	}
}

// TestPlanAheadCancel: a cancelled run with planners ahead stops where
// the executor was, returns the context's error and leaves no goroutine
// behind (Run waits for them).
func TestPlanAheadCancel(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.exec.onCall = func(n int) {
		if n == 4 {
			cancel()
		}
	}
	r := f.runner(t, Config{Planners: 2})
	r.planner = &aheadPlanner{Planner: f.planner, c: f.exec.c}
	rep, err := r.Run(ctx, repeatsTraffic(300))
	if !errors.Is(err, context.Canceled) || rep.Requests != 4 {
		t.Errorf("cancel: err %v, requests %d", err, rep.Requests)
	}
}
