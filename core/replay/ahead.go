package replay

import (
	"context"
	"runtime"
	"sync"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/plan"
)

// Speculator is an optional extension of Planner: PlanAhead plans a
// request before its turn — on another goroutine, while earlier requests
// are still being executed and may still fill the cache — and returns with
// the plan a check, still, that reports at the request's turn whether Plan
// called then would return the same plan. Run plans ahead with it on
// Config.Planners goroutines and plans again in turn whenever still says
// no, so the report is exactly that of planning one request at a time.
type Speculator interface {
	Planner
	PlanAhead(ctx context.Context, prompt string, opts plan.Options) (pl plan.Plan, still func() bool, err error)
	// Relookup returns what Plan would return now, given pl, a plan that
	// PlanAhead made for the same prompt and opts and whose still said
	// no: only the cache changed since (see plan.Planner.Relookup).
	Relookup(ctx context.Context, pl plan.Plan, opts plan.Options) (plan.Plan, error)
}

// Stamper is what planning ahead needs from the cache; *cache.Cache
// provides it: a lookup that also says what its result depends on, and a
// check, later, that it would still be the result (see cache.Stamp).
type Stamper interface {
	LookupStamped(ctx context.Context, req cache.Request) (cache.Result, cache.Stamp, error)
	Unchanged(st cache.Stamp, res cache.Result) bool
}

// Speculative is a plan.Planner that can plan ahead: a plan depends on the
// state of the cache only through its one lookup (token counts,
// compression, routing and prices depend on the prompt alone), so a plan
// made ahead is the plan of its turn when the cache vouches that the
// lookup would still return the same (Stamper).
type Speculative struct {
	plain *plan.Planner
	ahead plan.Planner // plain with its cache stage stamped
	st    Stamper
}

var _ Speculator = (*Speculative)(nil)

// NewSpeculative wraps p, whose Cache stage must answer as st's
// LookupStamped does (cache.OutcomeOnly over the same *cache.Cache).
func NewSpeculative(p *plan.Planner, st Stamper) *Speculative {
	s := &Speculative{plain: p, ahead: *p, st: st}
	s.ahead.Cache = stampedCache{inner: p.Cache, st: st}
	return s
}

// Plan implements Planner.
func (s *Speculative) Plan(ctx context.Context, prompt string, opts plan.Options) (plan.Plan, error) {
	return s.plain.Plan(ctx, prompt, opts)
}

// PlanAhead implements Speculator.
func (s *Speculative) PlanAhead(ctx context.Context, prompt string, opts plan.Options) (plan.Plan, func() bool, error) {
	rec := &lookupRecord{}
	pl, err := s.ahead.Plan(context.WithValue(ctx, lookupRecordKey{}, rec), prompt, opts)
	if err != nil || rec.n != 1 || rec.err != nil {
		// Errors are rare and may depend on timing (a cancelled context):
		// the plan is made again in turn.
		return pl, never, err
	}
	return pl, func() bool { return s.st.Unchanged(rec.stamp, rec.res) }, nil
}

// Relookup implements Speculator.
func (s *Speculative) Relookup(ctx context.Context, pl plan.Plan, opts plan.Options) (plan.Plan, error) {
	return s.plain.Relookup(ctx, pl, opts)
}

func never() bool { return false }

type lookupRecordKey struct{}

// lookupRecord is what one planned-ahead lookup saw.
type lookupRecord struct {
	n     int // lookups made; a plan that made other than one is never reused
	stamp cache.Stamp
	res   cache.Result
	err   error
}

// stampedCache stamps each lookup made for PlanAhead.
type stampedCache struct {
	inner plan.Cache
	st    Stamper
}

func (c stampedCache) Lookup(ctx context.Context, req cache.Request) (cache.Result, error) {
	rec, _ := ctx.Value(lookupRecordKey{}).(*lookupRecord)
	if rec == nil {
		return c.inner.Lookup(ctx, req)
	}
	rec.n++
	rec.res, rec.stamp, rec.err = c.st.LookupStamped(ctx, req)
	return rec.res, rec.err
}

// planned is one request planned ahead.
type planned struct {
	pl    plan.Plan
	still func() bool
	err   error
}

// planners is how many goroutines plan ahead: cfg.Planners, or one per
// CPU, none on a single CPU (planning ahead only pays when it runs beside
// the executing goroutine).
func (r *Runner) planners() int {
	if _, ok := r.planner.(Speculator); !ok || r.cfg.Planners < 0 {
		return 0
	}
	if r.cfg.Planners > 0 {
		return r.cfg.Planners
	}
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return min(n, 4)
	}
	return 0
}

// DefaultLead is Config.Lead's default. Without a lead, a planner and the
// executing goroutine hand plans over in lockstep: on the 100k replay
// benchmark each waited for the other about half its time.
const DefaultLead = 8

func (r *Runner) lead() int {
	switch {
	case r.cfg.Lead < 0:
		return 0
	case r.cfg.Lead == 0:
		return DefaultLead
	}
	return r.cfg.Lead
}

// planAhead starts n goroutines that plan reqs ahead: goroutine w plans
// requests w, w+n, w+2n, … and hands each over on its own channel of
// lead() slots, so the plans are taken back in order and none is made
// more than n×(lead()+1) requests before its turn. The further ahead, the
// likelier an intervening fill makes a plan stale; since a graph search
// is only made again, not the whole plan (cache.Unchanged), few are.
// next(i) returns request i's plan; stop ends the goroutines and waits
// for them.
func (r *Runner) planAhead(ctx context.Context, sp Speculator, reqs []Request, n int) (next func(i int) planned, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	chs := make([]chan planned, n)
	var wg sync.WaitGroup
	for w := range chs {
		chs[w] = make(chan planned, r.lead())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(reqs); i += n {
				pl, still, err := sp.PlanAhead(ctx, reqs[i].Prompt, r.options(&reqs[i]))
				select {
				case chs[w] <- planned{pl, still, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	next = func(i int) planned {
		select {
		case p := <-chs[i%n]:
			return p
		case <-ctx.Done():
			return planned{err: ctx.Err(), still: never}
		}
	}
	return next, func() { cancel(); wg.Wait() }
}
