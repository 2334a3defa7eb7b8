package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/replay"
	"github.com/pennyllm/penny/tui/cli"
)

// TestReplayReleasesItsCache runs replays through the cli on one app, as
// `penny serve` does for its sessions: once a replay's run has ended — it
// succeeded, or was cancelled after its first request — its cache (with its
// index and judge) must be garbage, not kept alive by the app until the app
// closes; and every request it replayed must be in the ledger (written
// before the release).
func TestReplayReleasesItsCache(t *testing.T) {
	a := benchApp(t)
	w := &watchReplays{app: a}
	traffic := "What is the capital of France?\nExplain recursion to a child.\nWhat is the capital of France?\n"
	run := func(ctx context.Context) (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(ctx, w, cli.IO{Stdin: strings.NewReader(traffic), Stdout: &out, Stderr: &errOut}, []string{"replay", "-", "--json"})
		return code, errOut.String()
	}
	for i := range 2 {
		if code, stderr := run(context.Background()); code != 0 {
			t.Fatalf("replay %d: exit %d\n%s", i+1, code, stderr)
		}
		if !w.closed[i] {
			t.Errorf("replay %d: its closer was not called when the run ended", i+1)
		}
		if !unreachable(w.caches[i]) {
			t.Errorf("replay %d: its cache is still reachable after its run", i+1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.cancel = cancel
	if code, stderr := run(ctx); code == 0 || !strings.Contains(stderr, context.Canceled.Error()) {
		t.Fatalf("cancelled replay: exit %d\n%s", code, stderr)
	}
	if !w.closed[2] {
		t.Errorf("cancelled replay: its closer was not called when the run ended")
	}
	if !unreachable(w.caches[2]) {
		t.Errorf("cancelled replay: its cache is still reachable after its run")
	}
	store, err := a.Ledger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	if err := store.Scan(context.Background(), ledger.Filter{Tag: replay.TagReplay}, func(ledger.Record) error { rows++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := 3 + 3 + 1; rows != want {
		t.Errorf("ledger: %d replay rows, want %d (3 + 3 + the cancelled replay's first)", rows, want)
	}
}

// watchReplays is the app as cli.Deps, watching each replay's cache
// through a weak pointer (which keeps nothing alive) and whether the cli
// closed it. With cancel set, the next replay's executor cancels the run
// after its first request.
type watchReplays struct {
	*app
	caches []weak.Pointer[cache.Cache]
	closed []bool
	cancel context.CancelFunc
}

func (w *watchReplays) Replay(ctx context.Context) (replay.Planner, replay.Executor, io.Closer, error) {
	p, e, c, err := w.app.Replay(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	run, ok := c.(*replayRun)
	if !ok {
		c.Close()
		return nil, nil, nil, errors.New("the replay's closer is not a *replayRun")
	}
	i := len(w.closed)
	w.caches = append(w.caches, weak.Make(run.cache))
	w.closed = append(w.closed, false)
	if w.cancel != nil {
		send, ok := e.(replay.SendExecutor)
		if !ok {
			c.Close()
			return nil, nil, nil, errors.New("the replay's executor is not a replay.SendExecutor")
		}
		e = cancelAfterFirst{SendExecutor: send, cancel: w.cancel}
	}
	return p, e, closeHook{Closer: c, done: func() { w.closed[i] = true }}, nil
}

// closeHook notes that Close was called.
type closeHook struct {
	io.Closer
	done func()
}

func (h closeHook) Close() error {
	h.done()
	return h.Closer.Close()
}

// cancelAfterFirst cancels the replay once a request has been sent; it
// keeps SendExecutor's Flush, so the runner still flushes the ledger.
type cancelAfterFirst struct {
	replay.SendExecutor
	cancel context.CancelFunc
}

func (c cancelAfterFirst) Execute(ctx context.Context, call replay.Call) (replay.Result, error) {
	res, err := c.SendExecutor.Execute(ctx, call)
	c.cancel()
	return res, err
}

// unreachable reports whether w's object has been collected, collecting a
// few times in case a goroutine of the run is still on its way out.
func unreachable[T any](w weak.Pointer[T]) bool {
	for range 50 {
		runtime.GC()
		if w.Value() == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
