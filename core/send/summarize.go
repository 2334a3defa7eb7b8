package send

import (
	"context"
	"fmt"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/tokens"
)

// summarize makes the summary the plan projected and returns the text to
// send: text with the region replaced (protected units the summary lost
// appended verbatim), or text unchanged when the summary cannot be made or
// is no shorter — the send goes ahead either way, and out.Summary says
// what happened. The call is held against the budget, settled at its
// actual cost and recorded on its own ledger record (TagSummarize), which
// is written before the call like every paid call.
//
// counter is the routed model's: a summary is kept only if the routed
// model sees fewer tokens. main is the routed call's record, whose time,
// user, baseline and scope the summary's record shares.
func (s *Sender) summarize(ctx context.Context, ps compress.PendingSummary, text string, counter tokens.Counter,
	main ledger.Record, out *Outcome) string {
	model := ps.Model
	if model == "" {
		model = main.Model
	}
	info := &SummaryInfo{Model: model, ProjectedNanos: ps.CostNanos}
	out.Summary = info
	skip := func(why string) string {
		info.Error = why
		out.Warnings = append(out.Warnings, "summary not made, prompt sent without it (nothing lost): "+why)
		return text
	}
	if s.d.Summarizer == nil {
		return skip("no summarizer is configured")
	}
	if text[min(ps.Start, len(text)):min(ps.End, len(text))] != ps.Region {
		return skip(compress.ErrStale.Error())
	}
	sm, ok := s.d.Catalog.Lookup(model)
	if !ok {
		return skip(fmt.Sprintf("summarize model %q is not in the price catalog", model))
	}
	req := ps.Request(sm.ID)
	smCounter := s.d.Tokens.ForModel(sm.ID)
	in := int64(llm.PromptTokens(smCounter, req.Messages()))
	if !smCounter.Count("").Exact {
		in += (in + 3) / 4 // as for the routed call: an estimate's hold gets a quarter more
	}
	hold := cost.Request(sm, cost.Usage{PromptTokens: in, CompletionTokens: int64(req.MaxTokens)})

	rec := ledger.Record{
		Time: main.Time, User: main.User, Tag: TagSummarize, BaselineModel: main.BaselineModel, Model: sm.ID,
		CacheOutcome: string(cache.Bypass), Scope: main.Scope, Status: ledger.StatusPending,
		ProjectedPromptTokens: int64(ps.PromptTokens), ProjectedCompletionTokens: int64(ps.EstimatedTokens),
		ProjectedNanos: ps.CostNanos,
	}
	id, err := s.d.Ledger.Append(ctx, rec)
	if err != nil {
		return skip("cannot record the summarizer call: " + err.Error())
	}
	rec.ID, info.LedgerID = id, id
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	finish := func(r ledger.Record) {
		if err := s.d.Ledger.Update(bctx, r); err != nil {
			out.Warnings = append(out.Warnings, "summarizer call not recorded: "+err.Error())
		}
	}
	h, err := s.reserve(ctx, hold, &rec)
	if err != nil {
		finish(rec)
		return skip("budget: " + err.Error())
	}

	start := s.d.Clock()
	resp, err := s.d.Summarizer.Summarize(ctx, req)
	rec.LatencyMS = s.d.Clock().Sub(start).Milliseconds()
	if err != nil {
		if s.d.Budget != nil {
			if rerr := s.d.Budget.Release(bctx, h); rerr != nil {
				out.Warnings = append(out.Warnings, rerr.Error())
			}
		}
		rec.Status, rec.Error = ledger.StatusError, err.Error()
		if resp.Provider != "" {
			rec.Provider = resp.Provider
		}
		finish(rec)
		return skip("summarizer failed: " + err.Error())
	}

	// Price and record what the call used, whatever is done with its text.
	u := llm.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens,
		CachedPromptTokens: resp.Usage.CachedPromptTokens}
	known := resp.UsageKnown || u.PromptTokens > 0 || u.CompletionTokens > 0
	if !known {
		u.PromptTokens = int(llm.PromptTokens(smCounter, req.Messages()))
		u.CompletionTokens = smCounter.Count(resp.Text).Tokens
	}
	priced := sm
	if rm, ok := s.d.Catalog.Lookup(resp.Model); ok && resp.Model != "" {
		priced = rm
	}
	actual := cost.Request(priced, cost.Usage{PromptTokens: int64(u.PromptTokens), CachedPromptTokens: int64(u.CachedPromptTokens),
		CompletionTokens: int64(u.CompletionTokens)})
	rec.Status, rec.Provider, rec.ResponseModel, rec.Simulated = ledger.StatusOK, resp.Provider, resp.Model, resp.Simulated
	rec.PromptTokens, rec.CompletionTokens, rec.CachedPromptTokens = int64(u.PromptTokens), int64(u.CompletionTokens), int64(u.CachedPromptTokens)
	rec.UsageKnown, rec.ActualNanos = known, actual
	// No baseline: the call exists only because of compression, which
	// pays for it. Baseline − actual = −actual = the parts below.
	full := cost.Request(priced, cost.Usage{PromptTokens: int64(u.PromptTokens), CompletionTokens: int64(u.CompletionTokens)})
	rec.Saved = ledger.Saved{Compression: -full, Discount: full - actual}
	info.Provider, info.Simulated = resp.Provider, resp.Simulated
	info.PromptTokens, info.CompletionTokens, info.ActualNanos = rec.PromptTokens, rec.CompletionTokens, actual
	if s.d.Budget != nil {
		alerts, err := s.d.Budget.Settle(bctx, h, actual)
		if err != nil {
			out.Warnings = append(out.Warnings, "summarizer cost not settled in the budget: "+err.Error())
		}
		out.Alerts = append(out.Alerts, alerts...)
	}
	finish(rec)

	if resp.FinishReason == "length" {
		return skip(fmt.Sprintf("the summary was cut at its %d-token cap", req.MaxTokens))
	}
	summarized, kept, err := ps.Apply(text, resp.Text)
	if err != nil {
		return skip(err.Error())
	}
	before, after := counter.Count(text).Tokens, counter.Count(summarized).Tokens
	if after >= before {
		return skip(fmt.Sprintf("the summary was not shorter (%d → %d tokens)", before, after))
	}
	info.Applied, info.TokensSaved, info.KeptVerbatim = true, before-after, kept
	return summarized
}
