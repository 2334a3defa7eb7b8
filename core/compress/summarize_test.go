package compress

import (
	"errors"
	"strings"
	"testing"
)

// summaryPrompt has a long prose run (with units found only there), a code
// fence that must stay out of the region, and a final question.
func summaryPrompt() string {
	return "System: answer from the context.\n\n```go\nx := 1\n```\n\n" +
		strings.Repeat("The migration moved 42 services to the new cluster in eu-west-1 over several weeks of careful work. ", 40) +
		"\n\nWhich region did the services move to?"
}

func TestSummarizeProjectsWithoutACall(t *testing.T) {
	in := summaryPrompt()
	c := mustNew(t, Config{Summarize: true, SummarizeMinTokens: 100})
	r := run(t, c, in)
	s := r.Summary
	if s == nil {
		t.Fatalf("no summary projected: %+v", r.Passes)
	}
	// Planning changes nothing yet: the region is still in the text.
	if r.Text != in || r.Tokens != r.TokensBefore {
		t.Fatalf("planning changed the text: %d → %d", r.TokensBefore, r.Tokens)
	}
	if got := r.Text[s.Start:s.End]; got != s.Region || !strings.HasPrefix(got, "The migration") || strings.Contains(got, "```") || strings.Contains(got, "Which region") {
		t.Fatalf("region = %q", got)
	}
	if s.RegionTokens < 400 || s.EstimatedTokens != (s.RegionTokens+3)/4 || s.MaxTokens < s.EstimatedTokens || s.MaxTokens > s.RegionTokens {
		t.Fatalf("projection: %+v", s)
	}
	if strings.Join(s.Keep, "|") != "42|eu-west-1" && strings.Join(s.Keep, "|") != "eu-west-1|42" {
		t.Fatalf("keep = %q", s.Keep)
	}
	p := r.Passes[len(r.Passes)-1]
	if p.Name != "summarize" || !p.Pending || p.Skipped || p.TokensSaved != 0 || p.ProjectedSaved != s.RegionTokens-s.EstimatedTokens || !strings.Contains(p.Note, "at send") {
		t.Fatalf("pass = %+v", p)
	}
	// The projection is stable: compressing again projects the same.
	if again := run(t, c, r.Text); again.Summary == nil || again.Summary.Start != s.Start || again.Text != r.Text {
		t.Fatalf("not idempotent: %+v", again.Summary)
	}
}

func TestSummarizeEstimateFloorAndSkips(t *testing.T) {
	in := summaryPrompt()
	// An estimator claiming 1 token is raised to the kept units' length.
	r := run(t, mustNew(t, Config{Summarize: true, SummarizeMinTokens: 100}, WithSummaryEstimate(func(int) int { return 1 })), in)
	if r.Summary == nil || r.Summary.EstimatedTokens < 5 {
		t.Fatalf("floor not applied: %+v", r.Summary)
	}
	// An estimate as long as the region: not worth a call.
	r = run(t, mustNew(t, Config{Summarize: true, SummarizeMinTokens: 100}, WithSummaryEstimate(func(n int) int { return n })), in)
	if r.Summary != nil || !r.Passes[0].Skipped || !strings.Contains(r.Passes[0].Note, "not be shorter") {
		t.Fatalf("unprofitable summary projected: %+v", r.Passes[0])
	}
	// Below the minimum: a note, nothing pending.
	r = run(t, mustNew(t, Config{Summarize: true, SummarizeMinTokens: 100000}), in)
	if r.Summary != nil || !strings.Contains(r.Passes[0].Note, "below summarize_min_tokens") {
		t.Fatalf("below min: %+v", r.Passes[0])
	}
	// No prose at all.
	r = run(t, mustNew(t, Config{Summarize: true}), "```\ncode only\n```")
	if r.Summary != nil {
		t.Fatal("summary of code projected")
	}
}

func TestSummaryApplyKeepsProtectedUnits(t *testing.T) {
	in := summaryPrompt()
	r := run(t, mustNew(t, Config{Summarize: true, SummarizeMinTokens: 100}), in)
	s := *r.Summary
	// A careless summary that lost both units: they are appended.
	out, missing, err := s.Apply(r.Text, "  Services moved to the new cluster.  ")
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 2 || !strings.Contains(out, "Services moved to the new cluster.\n"+keptPrefix) {
		t.Fatalf("missing %v:\n%s", missing, out)
	}
	if chk := CheckProtected(in, out); chk.Kept != chk.Units {
		t.Fatalf("lost %v", chk.Missing)
	}
	if !strings.HasSuffix(out, "Which region did the services move to?") || !strings.Contains(out, "```go\nx := 1\n```") {
		t.Fatalf("outside the region changed:\n%s", out)
	}
	// A faithful summary appends nothing.
	if _, missing, _ := s.Apply(r.Text, "42 services moved to eu-west-1."); len(missing) != 0 {
		t.Fatalf("appended %v", missing)
	}
	if _, _, err := s.Apply("other text", "x"); !errors.Is(err, ErrStale) {
		t.Fatalf("stale: %v", err)
	}
	if _, _, err := s.Apply(r.Text, "  \n"); err == nil {
		t.Fatal("empty summary accepted")
	}
}

func TestSummaryRequestMessages(t *testing.T) {
	req := PendingSummary{Region: "some text", EstimatedTokens: 100, MaxTokens: 200}.Request("m")
	msgs := req.Messages()
	if req.Model != "m" || req.MaxTokens != 200 || len(msgs) != 2 || msgs[0].Role != "system" || msgs[1].Content != "some text" ||
		!strings.Contains(msgs[0].Content, "at most 75 words") {
		t.Fatalf("%+v %+v", req, msgs)
	}
}

func TestWithLossy(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Summarize, cfg.BudgetRatio = true, 0.5
	on := cfg.WithLossy(true)
	if !on.Filler || !on.Stopwords || !on.Summarize || on.BudgetRatio != 0.5 || !on.Whitespace {
		t.Fatalf("on: %+v", on)
	}
	off := cfg.WithLossy(false)
	if off.Lossy() || !off.Whitespace || !off.Dedupe {
		t.Fatalf("off: %+v", off)
	}
	if DefaultConfig().Lossy() || !cfg.Lossy() {
		t.Fatal("Lossy()")
	}
}
