package send

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/money"
)

// fakeSummarizer answers like a provider would, with reported usage.
type fakeSummarizer struct {
	mu   sync.Mutex
	reqs []compress.SummaryRequest
	text string
	err  error
}

func (f *fakeSummarizer) Summarize(_ context.Context, req compress.SummaryRequest) (llm.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return llm.Response{Provider: "fake"}, f.err
	}
	return llm.Response{Text: f.text, Model: req.Model, Provider: "fake", FinishReason: "stop",
		Usage: llm.Usage{PromptTokens: 900, CompletionTokens: 40}, UsageKnown: true}, nil
}

const longContext = "The migration moved 42 services to the new cluster in eu-west-1 over several weeks of careful work. "

func summaryEnv(t *testing.T, f *fakeSummarizer) (*env, *budget.Service) {
	e := newEnv(t, "gpt-4o")
	comp, err := compress.New(compress.Config{Whitespace: true, Summarize: true, SummarizeMinTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	e.planner.Compressor, e.planner.SummarizeModel = comp, "gpt-4o-mini"
	b, err := budget.New(budget.Config{DailyUSD: 1, ReservationTTL: time.Minute}, budget.NewMemStore(), budget.Options{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.deps.Budget = b
	if f != nil {
		e.deps.Summarizer = f
	}
	return e, b
}

func longPrompt() string {
	return strings.Repeat(longContext, 40) + "\n\nWhich region did the services move to?"
}

func TestSendMakesTheProjectedSummaryAndRecordsItsCost(t *testing.T) {
	f := &fakeSummarizer{text: "Services moved to the new cluster."}
	e, b := summaryEnv(t, f)
	pl := e.plan(longPrompt())
	ps := pl.Compression.Summary
	if ps == nil || ps.CostNanos == 0 {
		t.Fatalf("no summary projected: %+v", pl.Compression.Passes)
	}
	out, err := e.sender().Send(context.Background(), pl, Options{Scope: e.scope, User: "ann", Tag: "cli"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One summarizer call with the projected request, then the routed call
	// with the summary in place of the region and the lost units kept.
	if len(f.reqs) != 1 || f.reqs[0].Model != "gpt-4o-mini" || f.reqs[0].Text != ps.Region || f.reqs[0].MaxTokens != ps.MaxTokens {
		t.Fatalf("summarizer requests %+v", f.reqs)
	}
	sent := e.prov.calls[0].Messages[0].Content
	if strings.Contains(sent, "careful work") || !strings.Contains(sent, "Services moved to the new cluster.") ||
		!strings.Contains(sent, "42") || !strings.Contains(sent, "eu-west-1") || !strings.HasSuffix(sent, "Which region did the services move to?") {
		t.Fatalf("sent %q", sent)
	}
	if chk := compress.CheckProtected(pl.Prompt, sent); chk.Kept != chk.Units {
		t.Fatalf("protected units lost: %v", chk.Missing)
	}
	mini, _ := e.cat.Lookup("gpt-4o-mini")
	sumCost := cost.Request(mini, cost.Usage{PromptTokens: 900, CompletionTokens: 40})
	s := out.Summary
	if s == nil || !s.Applied || s.ActualNanos != sumCost || s.ProjectedNanos != ps.CostNanos || s.TokensSaved <= 0 || len(s.KeptVerbatim) != 2 {
		t.Fatalf("summary info %+v", s)
	}
	// Two records: the summarizer's, charged to compression, and the send's.
	if len(e.ledger.recs) != 2 {
		t.Fatalf("%d ledger records", len(e.ledger.recs))
	}
	sr, mr := e.ledger.recs[0], e.ledger.recs[1]
	if sr.Tag != TagSummarize || sr.Model != "gpt-4o-mini" || sr.Status != ledger.StatusOK || sr.ActualNanos != sumCost ||
		sr.BaselineNanos != 0 || sr.Saved.Compression != -sumCost || sr.Saved.Total() != -sumCost || sr.ProjectedNanos != ps.CostNanos ||
		sr.PromptTokens != 900 || sr.User != "ann" || sr.Scope != mr.Scope || s.LedgerID != sr.ID {
		t.Fatalf("summary record %+v", sr)
	}
	if mr.Tag != "cli" || mr.ProjectedNanos != money.Nanos(pl.Cost.OptimizedNanos)-ps.CostNanos || mr.Saved.Total() != mr.BaselineNanos-mr.ActualNanos {
		t.Fatalf("send record %+v", mr)
	}
	// The outcome and the budget count both calls.
	if out.Cost.ActualNanos != mr.ActualNanos+sumCost || out.Cost.ProjectedNanos != money.Nanos(pl.Cost.OptimizedNanos) {
		t.Fatalf("outcome cost %+v (send %d + summary %d)", out.Cost, mr.ActualNanos, sumCost)
	}
	lines, _ := b.Status(context.Background())
	if lines[0].Spent != out.Cost.ActualNanos || lines[0].Reserved != 0 {
		t.Fatalf("budget %+v, want %d spent", lines[0], out.Cost.ActualNanos)
	}
	// The ledger report's totals include the summary; its saving is net.
	rep, err := ledger.Summarize(context.Background(), e.ledger, ledger.Filter{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Actual.Nanos != out.Cost.ActualNanos || rep.Totals.Savings.Nanos != mr.BaselineNanos-out.Cost.ActualNanos {
		t.Fatalf("report totals %+v", rep.Totals)
	}
}

func TestSummarizerFailureSendsUnsummarized(t *testing.T) {
	f := &fakeSummarizer{err: &llm.Error{Kind: llm.ErrServer, Provider: "fake", Status: 500}}
	e, b := summaryEnv(t, f)
	pl := e.plan(longPrompt())
	out, err := e.sender().Send(context.Background(), pl, Options{Scope: e.scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.prov.n() != 1 || e.prov.calls[0].Messages[0].Content != pl.Compression.Text {
		t.Fatalf("the routed call must get the unsummarized text")
	}
	if out.Summary == nil || out.Summary.Applied || !strings.Contains(out.Summary.Error, "server error") ||
		!strings.Contains(strings.Join(out.Warnings, "\n"), "nothing lost") {
		t.Fatalf("outcome %+v %q", out.Summary, out.Warnings)
	}
	sr := e.ledger.recs[0]
	if sr.Tag != TagSummarize || sr.Status != ledger.StatusError || sr.ActualNanos != 0 {
		t.Fatalf("summary record %+v", sr)
	}
	lines, _ := b.Status(context.Background())
	if lines[0].Reserved != 0 || lines[0].Spent != out.Cost.ActualNanos {
		t.Fatalf("hold not released: %+v", lines[0])
	}
	// Without a summarizer at all, the same: sent whole, and said.
	e, _ = summaryEnv(t, nil)
	out, err = e.sender().Send(context.Background(), e.plan(longPrompt()), Options{Scope: e.scope}, nil)
	if err != nil || out.Summary == nil || out.Summary.Applied || len(e.ledger.recs) != 1 {
		t.Fatalf("no summarizer: %v %+v %d records", err, out.Summary, len(e.ledger.recs))
	}
	// A summary that is not shorter is paid for but not used.
	f = &fakeSummarizer{text: strings.Repeat(longContext, 41)}
	e, _ = summaryEnv(t, f)
	pl = e.plan(longPrompt())
	out, err = e.sender().Send(context.Background(), pl, Options{Scope: e.scope}, nil)
	if err != nil || out.Summary.Applied || out.Summary.ActualNanos == 0 || e.prov.calls[0].Messages[0].Content != pl.Compression.Text ||
		e.ledger.recs[0].ActualNanos != out.Summary.ActualNanos {
		t.Fatalf("longer summary: %v %+v", err, out.Summary)
	}
	// A plan whose text no longer holds the region: no call, sent as is.
	f = &fakeSummarizer{text: "short"}
	e, _ = summaryEnv(t, f)
	pl = e.plan(longPrompt())
	pl.Compression.Text = "Edited since: " + pl.Compression.Text
	out, err = e.sender().Send(context.Background(), pl, Options{Scope: e.scope}, nil)
	if err != nil || len(f.reqs) != 0 || out.Summary.Error != compress.ErrStale.Error() {
		t.Fatalf("stale: %v %+v", err, out.Summary)
	}
}
