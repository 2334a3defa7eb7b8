package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/replay"
)

func runReplay(ctx context.Context, d Deps, s IO, args []string) (err error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	perDay := fs.Int64("requests-per-day", 0, "traffic for the monthly projection (0 = the file is one day)")
	strict := fs.Bool("strict", false, "stop at the first malformed line instead of skipping it")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one traffic file (JSONL with \"prompt\", or one prompt per line; - for stdin)")
	}
	data, err := s.readInput(pos[0], 512<<20)
	if err != nil {
		return err
	}
	tr, err := replay.Parse(bytes.NewReader(data), replay.ParseOptions{Strict: *strict})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if tr.Skipped > 0 {
		fmt.Fprintf(s.Stderr, "penny replay: skipped %d malformed lines", tr.Skipped)
		if len(tr.Skips) > 0 {
			fmt.Fprintf(s.Stderr, " (first: line %d: %s)", tr.Skips[0].Line, tr.Skips[0].Reason)
		}
		fmt.Fprintln(s.Stderr)
	}
	planner, exec, release, err := d.Replay(ctx)
	if err != nil {
		return err
	}
	// The replay's cache can be large and, under `penny serve`, the
	// process outlives the command: release it when the run ends. The run
	// has flushed the ledger by then; a release error only matters when
	// the run reported none.
	defer func() {
		if cerr := release.Close(); err == nil {
			err = cerr
		}
	}()
	cfg := d.Config()
	rcfg := replay.Config{
		Baseline: cfg.BaselineModel, CompletionTokens: cfg.CompletionTokens, RequestsPerDay: *perDay,
		Catalog: d.Catalog(), Tokens: d.Tokens(),
	}
	// A local `penny replay` is a batch job with the process to itself:
	// let the collector run less often, unless GOGC says otherwise. An SSH
	// session (no file access) shares the server's process with others.
	if _, set := os.LookupEnv("GOGC"); !set && s.Open != nil {
		rcfg.GCPercent = replay.BatchGCPercent
	}
	var rep replay.Report
	if s.IsTerminal && !*asJSON {
		rep, err = replayWithBar(ctx, planner, exec, rcfg, tr, s)
	} else {
		rep, err = replayWithLines(ctx, planner, exec, rcfg, tr, s.Stderr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(s.Stdout, rep)
	}
	return rep.WriteText(s.Stdout)
}

// replayWithLines reports progress as plain lines, at most once a second
// and always for the last update, for logs and pipes.
func replayWithLines(ctx context.Context, p replay.Planner, e replay.Executor, cfg replay.Config, tr *replay.Traffic, w io.Writer) (replay.Report, error) {
	var last time.Time
	var pending *replay.Progress
	cfg.Progress = func(pr replay.Progress) {
		if time.Since(last) >= time.Second || pr.Done == pr.Total {
			fmt.Fprintln(w, pr.Line())
			last, pending = time.Now(), nil
			return
		}
		pending = &pr
	}
	r, err := replay.NewRunner(p, e, cfg)
	if err != nil {
		return replay.Report{}, err
	}
	rep, err := r.Run(ctx, tr)
	if pending != nil {
		fmt.Fprintln(w, pending.Line())
	}
	return rep, err
}

type replayDone struct {
	rep replay.Report
	err error
}

// replayUI is the progress bar shown on a terminal. The runner works in its
// own goroutine and sends Progress values to the program.
type replayUI struct {
	bar    progress.Model
	last   replay.Progress
	cancel context.CancelFunc
}

func (m replayUI) Init() tea.Cmd { return nil }

func (m replayUI) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case replay.Progress:
		m.last = msg
	case replayDone:
		return m, tea.Quit
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" || msg.String() == "esc" {
			m.cancel()
		}
	case tea.WindowSizeMsg:
		m.bar.SetWidth(min(msg.Width-4, 60))
	}
	return m, nil
}

func (m replayUI) View() tea.View {
	return tea.NewView(m.bar.ViewAs(m.last.Fraction()) + "\n" + m.last.Line() + "\n")
}

func replayWithBar(ctx context.Context, p replay.Planner, e replay.Executor, cfg replay.Config, tr *replay.Traffic, s IO) (replay.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ui := replayUI{bar: progress.New(progress.WithDefaultBlend(), progress.WithWidth(60)), cancel: cancel}
	prog := tea.NewProgram(ui, tea.WithContext(ctx), tea.WithInput(s.Stdin), tea.WithOutput(s.Stdout))
	var mu sync.Mutex
	var lastSent time.Time
	cfg.Progress = func(pr replay.Progress) {
		// Frames are cheap but not free: ten updates a second are plenty.
		mu.Lock()
		defer mu.Unlock()
		if time.Since(lastSent) >= 100*time.Millisecond || pr.Done == pr.Total {
			lastSent = time.Now()
			prog.Send(pr)
		}
	}
	r, err := replay.NewRunner(p, e, cfg)
	if err != nil {
		return replay.Report{}, err
	}
	done := make(chan replayDone, 1)
	go func() {
		rep, err := r.Run(ctx, tr)
		done <- replayDone{rep, err}
		prog.Send(replayDone{rep, err})
	}()
	if _, err := prog.Run(); err != nil && ctx.Err() == nil {
		cancel()
	}
	res := <-done
	return res.rep, res.err
}
