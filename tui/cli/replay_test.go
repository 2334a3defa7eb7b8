package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pennyllm/penny/core/config"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/replay"
	"github.com/pennyllm/penny/core/tokens"
)

// TestReplayReleasesWhenRunEnds: whatever way a replay's run ends, the
// command closes what Deps.Replay returned exactly once, after the run has
// flushed the executor's buffered ledger and before the command returns.
func TestReplayReleasesWhenRunEnds(t *testing.T) {
	cfg, err := config.Parse("penny.toml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	traffic := "first prompt\nsecond prompt\nthird prompt\n"
	for _, tc := range []struct {
		name      string
		flushErr  error
		closeErr  error
		cancel    bool // the executor cancels the run at its first request
		wantCode  int
		wantCalls []string
	}{
		{name: "success", wantCalls: []string{"execute", "execute", "execute", "flush", "close"}},
		{name: "flush fails", flushErr: errors.New("disk full"), wantCode: 1,
			wantCalls: []string{"execute", "execute", "execute", "flush", "close"}},
		{name: "cancelled", cancel: true, wantCode: 1, wantCalls: []string{"execute", "flush", "close"}},
		{name: "close fails", closeErr: errors.New("close failed"), wantCode: 1,
			wantCalls: []string{"execute", "execute", "execute", "flush", "close"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &callLog{}
			d := &replayDeps{cfg: cfg, cat: cat, toks: tokens.NewRegistry(), rec: rec,
				exec: &fakeExecutor{rec: rec, flushErr: tc.flushErr}, closeErr: tc.closeErr}
			if tc.cancel {
				d.exec.cancel = cancel
			}
			var out, errOut bytes.Buffer
			code := Run(ctx, d, IO{Stdin: strings.NewReader(traffic), Stdout: &out, Stderr: &errOut}, []string{"replay", "-", "--json"})
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, errOut.String())
			}
			if got := rec.list(); !slices.Equal(got, tc.wantCalls) {
				t.Errorf("calls %q, want %q", got, tc.wantCalls)
			}
			if tc.closeErr != nil && !strings.Contains(errOut.String(), tc.closeErr.Error()) {
				t.Errorf("the release error is not reported: %q", errOut.String())
			}
		})
	}
}

// callLog records the order of the fakes' calls.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *callLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// replayDeps is Deps for the replay command only: the methods it does not
// use are left to the nil embedded interface.
type replayDeps struct {
	Deps
	cfg      config.Config
	cat      *pricing.Catalog
	toks     *tokens.Registry
	rec      *callLog
	exec     *fakeExecutor
	closeErr error
}

func (d *replayDeps) Config() config.Config     { return d.cfg }
func (d *replayDeps) Catalog() *pricing.Catalog { return d.cat }
func (d *replayDeps) Tokens() *tokens.Registry  { return d.toks }
func (d *replayDeps) Replay(context.Context) (replay.Planner, replay.Executor, io.Closer, error) {
	return fakePlanner{}, d.exec, fakeCloser{rec: d.rec, err: d.closeErr}, nil
}

type fakePlanner struct{}

func (fakePlanner) Plan(context.Context, string, plan.Options) (plan.Plan, error) {
	return plan.Plan{}, nil
}

// fakeExecutor buffers like SendExecutor over a ledger.Buffered: the runner
// flushes it at the end of the run.
type fakeExecutor struct {
	rec      *callLog
	flushErr error
	cancel   context.CancelFunc
}

func (e *fakeExecutor) Execute(context.Context, replay.Call) (replay.Result, error) {
	e.rec.add("execute")
	if e.cancel != nil {
		e.cancel()
	}
	return replay.Result{}, nil
}

func (e *fakeExecutor) Flush(context.Context) error {
	e.rec.add("flush")
	return e.flushErr
}

type fakeCloser struct {
	rec *callLog
	err error
}

func (c fakeCloser) Close() error {
	c.rec.add("close")
	return c.err
}
