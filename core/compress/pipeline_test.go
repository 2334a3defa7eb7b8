package compress

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pennyllm/penny/core/tokens"
)

func mustNew(t testing.TB, cfg Config, opts ...Option) *Compressor {
	t.Helper()
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t testing.TB, c *Compressor, text string) Result {
	t.Helper()
	r, err := c.Compress(context.Background(), text, counter())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkResult asserts the invariants every result must hold.
func checkResult(t testing.TB, c *Compressor, in string, r Result) {
	t.Helper()
	real := counter()
	if got := real.Count(in).Tokens; got != r.TokensBefore {
		t.Errorf("TokensBefore = %d, real count %d", r.TokensBefore, got)
	}
	if got := real.Count(r.Text).Tokens; got != r.Tokens {
		t.Errorf("Tokens = %d, real count of Text %d", r.Tokens, got)
	}
	sum := 0
	for _, p := range r.Passes {
		if p.Skipped && p.TokensSaved != 0 {
			t.Errorf("pass %s skipped but saved %d", p.Name, p.TokensSaved)
		}
		if !p.Skipped && p.TokensSaved <= 0 {
			t.Errorf("pass %s applied with %d saved", p.Name, p.TokensSaved)
		}
		sum += p.TokensSaved
	}
	if sum != r.TokensBefore-r.Tokens {
		t.Errorf("pass savings sum to %d, want %d", sum, r.TokensBefore-r.Tokens)
	}
	if r.Tokens > r.TokensBefore {
		t.Errorf("more tokens after: %d > %d", r.Tokens, r.TokensBefore)
	}
	if chk := CheckProtected(in, r.Text); chk.Kept != chk.Units {
		t.Errorf("lost protected units: %v", chk.Missing)
	}
	if r.ProtectedKept != 1 {
		t.Errorf("ProtectedKept = %v", r.ProtectedKept)
	}
	again := run(t, c, r.Text)
	if again.Text != r.Text {
		t.Errorf("not idempotent: second run saved %d tokens", again.TokensBefore-again.Tokens)
	}
}

func TestDefaultOnAgentFixtures(t *testing.T) {
	names, prompts := agentPrompts(t)
	c := mustNew(t, DefaultConfig(), nil)
	before, after := 0, 0
	for i, p := range prompts {
		t.Run(names[i], func(t *testing.T) {
			r := run(t, c, p)
			checkResult(t, c, p, r)
			before += r.TokensBefore
			after += r.Tokens
		})
	}
	// The goal on messy agent prompts; a regression guard, not a
	// tuned constant: the figure is reported in docs/BENCHMARKS.md.
	if saved := 1 - float64(after)/float64(before); saved < 0.25 {
		t.Errorf("default passes saved %.1f%% on agent fixtures, goal ≥ 25%%", 100*saved)
	}
}

// TestSpansReplay rebuilds the output from the spans, pass by pass, as the
// UI's diff will.
func TestSpansReplay(t *testing.T) {
	_, prompts := agentPrompts(t)
	c := mustNew(t, DefaultConfig(), nil)
	for _, p := range prompts {
		r := run(t, c, p)
		cur := p
		for _, pr := range r.Passes {
			if pr.Skipped {
				continue
			}
			var b strings.Builder
			pos := 0
			for _, s := range pr.Spans {
				if s.Start < pos || s.End > len(cur) || s.Start > s.End {
					t.Fatalf("%s: bad span %+v (pos %d, len %d)", pr.Name, s, pos, len(cur))
				}
				b.WriteString(cur[pos:s.Start])
				b.WriteString(s.With)
				pos = s.End
			}
			b.WriteString(cur[pos:])
			cur = b.String()
		}
		if cur != r.Text {
			t.Errorf("replaying spans does not give Text")
		}
	}
}

func TestSkippedWhenNoGain(t *testing.T) {
	// Three tiny rows: the table header costs more than the repeated key.
	cfg := Config{JSONTable: true}
	c := mustNew(t, cfg, nil)
	in := "Data:\n[{\"a\":1},{\"a\":2},{\"a\":3}]\n\nWhich is largest?"
	r := run(t, c, in)
	if !r.Passes[0].Skipped || r.Text != in || r.Passes[0].Note == "" {
		t.Fatalf("want skipped json_table with a note, got %+v", r.Passes[0])
	}
	// A pass with nothing to do is skipped too.
	r = run(t, mustNew(t, Config{JSON: true}, nil), "No JSON here at all.")
	if !r.Passes[0].Skipped || r.Passes[0].TokensSaved != 0 {
		t.Fatalf("json_minify on plain text: %+v", r.Passes[0])
	}
}

func TestWhitespace(t *testing.T) {
	in := "\n\n    Intro   line with   spaces.   \n    Second line.\n\n\n\n" +
		"```go\nfunc f() {\n\tx :=  1   \n}\n```\n\n" +
		"| col a  |  col b |\n|---|---|\n| 1  | 2 |\n\n" +
		"Text:\n\n    for i := 0; i < n; i++ {\n        sum  +=  i\n    }\n\n" +
		"Say \"two  spaces\" and `a  b` here.   \n\n\nWhat   is it?\n\n"
	r := run(t, mustNew(t, Config{Whitespace: true}, nil), in)
	want := "Intro line with spaces.\nSecond line.\n\n" +
		"```go\nfunc f() {\n\tx :=  1   \n}\n```\n\n" +
		"| col a  |  col b |\n|---|---|\n| 1  | 2 |\n\n" +
		"Text:\n\n    for i := 0; i < n; i++ {\n        sum  +=  i\n    }\n\n" +
		"Say \"two  spaces\" and `a  b` here.\n\nWhat   is it?"
	if r.Text != want {
		t.Fatalf("got\n%q\nwant\n%q", r.Text, want)
	}
}

func TestJSONMinifyKeepsValues(t *testing.T) {
	in := "Context:\n{\n    \"name\":  \"Ada  Lovelace\",\n    \"n\": 1.50e+3,\n    \"esc\": \"tab\\t \\\"q\\\" \\u00e9\",\n" +
		"    \"list\": [ 1, 2,\n      3 ],\n    \"nested\": { \"k\": null, \"b\": true }\n}\n\nNot JSON:\n{ name: 'x',\n  y: 2 }\n\nWho?"
	r := run(t, mustNew(t, Config{JSON: true}, nil), in)
	wantJSON := `{"name":"Ada  Lovelace","n":1.50e+3,"esc":"tab\t \"q\" \u00e9","list":[1,2,3],"nested":{"k":null,"b":true}}`
	if !strings.Contains(r.Text, "Context:\n"+wantJSON+"\n") {
		t.Fatalf("minified JSON not found in\n%s", r.Text)
	}
	if !strings.Contains(r.Text, "{ name: 'x',\n  y: 2 }") {
		t.Fatalf("invalid JSON was changed:\n%s", r.Text)
	}
	var a, b any
	dec := json.NewDecoder(strings.NewReader(in[len("Context:\n"):strings.Index(in, "\n\nNot")]))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	dec = json.NewDecoder(strings.NewReader(wantJSON))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("values changed: %v vs %v", a, b)
	}
}

func TestDedupe(t *testing.T) {
	para := "Refunds are possible within 30 days of delivery for unused items in their original packaging."
	in := "Rules.\n\n" + para + "\n\nShipping is free above 50 EUR for every order placed in the shop.\n\n" + strings.ToUpper(para[:1]) + para[1:] + "  \n\n" +
		"Example 1:\nQ: What is 2+2?\nA: 4\n\nExample 2:\nQ: What is 2+2?\nA: 4\n\n" +
		// near duplicates: one differs by a word, one by a number
		"The quarterly report shows revenue growth across all regions with strong demand in Europe and Asia this year, " +
		"driven by new customers in retail and logistics, while costs stayed flat and margins improved for the whole group.\n\n" +
		"The quarterly report shows revenue growth across all regions with strong demand in Europe and Asia this year, " +
		"driven by new customers in retail and logistics, while costs stayed flat and margins improved for the whole group too.\n\n" +
		"Revenue grew by 12% across all regions with strong demand in Europe and Asia this year as the report shows.\n\n" +
		"Revenue grew by 15% across all regions with strong demand in Europe and Asia this year as the report shows.\n\n" +
		"What changed?"
	r := run(t, mustNew(t, DefaultConfig(), nil), in)
	if strings.Count(r.Text, "Refunds are possible") != 1 {
		t.Errorf("duplicate paragraph kept:\n%s", r.Text)
	}
	if strings.Contains(r.Text, "Example 2") || !strings.Contains(r.Text, "Example 1:\nQ: What is 2+2?\nA: 4") {
		t.Errorf("duplicate example not removed whole:\n%s", r.Text)
	}
	if strings.Contains(r.Text, "whole group too.") {
		t.Errorf("near duplicate kept:\n%s", r.Text)
	}
	if !strings.Contains(r.Text, "12%") || !strings.Contains(r.Text, "15%") {
		t.Errorf("near duplicate with a different number must stay:\n%s", r.Text)
	}
	checkResult(t, mustNew(t, DefaultConfig(), nil), in, r)
}

func TestTableRoundTrip(t *testing.T) {
	in := "Orders:\n[\n  {\"id\": 1, \"sku\": \"KB-1\", \"qty\": 2, \"price\": 19.90},\n  {\"id\": 2, \"sku\": \"KB-2\", \"qty\": 1, \"price\": 5.5},\n" +
		"  {\"id\": 3, \"sku\": \"KB-3\", \"qty\": 4, \"price\": 7},\n  {\"id\": 4, \"sku\": \"KB-4\", \"qty\": 9, \"price\": 1e2}\n]\n\nWhich order is largest?"
	cfg := DefaultConfig()
	cfg.JSONTable = true
	c := mustNew(t, cfg, nil)
	r := run(t, c, in)
	checkResult(t, c, in, r)
	line := strings.Split(r.Text, "\n")[1]
	var tab struct {
		Columns []string            `json:"columns"`
		Rows    [][]json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal([]byte(line), &tab); err != nil || len(tab.Rows) != 4 {
		t.Fatalf("not a table: %q (%v)", line, err)
	}
	// Rebuild the objects and compare with the original array.
	var rebuilt []map[string]json.RawMessage
	for _, row := range tab.Rows {
		m := map[string]json.RawMessage{}
		for i, col := range tab.Columns {
			m[col] = row[i]
		}
		rebuilt = append(rebuilt, m)
	}
	var orig []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(in[len("Orders:\n"):strings.Index(in, "\n\nWhich")]), &orig); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(orig, rebuilt) {
		t.Fatalf("table loses data:\n%v\n%v", orig, rebuilt)
	}
	if r.Passes[2].Name != "json_table" || r.Passes[2].Skipped {
		t.Fatalf("json_table not applied: %+v", r.Passes)
	}
}

func TestFillerAndStopwords(t *testing.T) {
	in := "I would like you to summarize the report. Please kindly keep it very short and use the numbers exactly.\n\n" +
		"It is important to note that you should just answer in order to help the user.\n\n" +
		"Could you please list the 3 main risks for \"Project Apollo\"?"
	cfg := Config{Filler: true, Stopwords: true}
	c := mustNew(t, cfg, nil)
	r := run(t, c, in)
	checkResult(t, c, in, r)
	want := "Summarize report. Keep it short and use numbers exactly.\n\n" +
		"You should answer to help user.\n\n" +
		"Could you please list the 3 main risks for \"Project Apollo\"?"
	if r.Text != want {
		t.Fatalf("got\n%q\nwant\n%q", r.Text, want)
	}
	for _, p := range r.Passes {
		if !p.Lossy {
			t.Errorf("%s should be marked lossy", p.Name)
		}
	}
}

// longContext builds a long prompt: many paragraphs of background, only a
// few of them about the question's topic, with numbers in some.
func longContext() string {
	var b strings.Builder
	topics := []string{
		"The office coffee machine was replaced last spring and the kitchen now has a second fridge for everyone.",
		"Our parking garage closes at night and visitors should register at the front desk before they arrive.",
		"The annual leave policy grants employees twenty five days of paid vacation each calendar year.",
		"The cafeteria serves vegetarian dishes on most days and the menu changes every single week.",
		"Unused vacation days can be carried over until the end of March of the following year.",
		"The company newsletter is sent on Fridays and includes photos from team events and offsites.",
	}
	for i := 0; i < 60; i++ {
		b.WriteString(topics[i%len(topics)])
		b.WriteString(" ")
		b.WriteString(topics[(i*5+1)%len(topics)])
		if i%10 == 3 {
			b.WriteString(" Room 4.12 holds 30 people.")
		}
		b.WriteString("\n\n")
	}
	b.WriteString("How many vacation days do employees get, and can unused vacation days be carried over?")
	return b.String()
}

func TestBudget(t *testing.T) {
	in := longContext()
	cfg := DefaultConfig()
	cfg.BudgetRatio = 0.5
	c := mustNew(t, cfg, nil)
	r := run(t, c, in)
	if r.Tokens > r.TokensBefore/2+1 {
		t.Fatalf("budget not reached: %d → %d", r.TokensBefore, r.Tokens)
	}
	q := "How many vacation days do employees get, and can unused vacation days be carried over?"
	if !strings.HasSuffix(r.Text, q) {
		t.Fatalf("final question not kept at the end")
	}
	if !strings.Contains(r.Text, "twenty five days") || !strings.Contains(r.Text, "carried over until the end of March") {
		t.Errorf("the relevant sentences were dropped:\n%s", r.Text)
	}
	if chk := CheckProtected(in, r.Text); chk.Kept != chk.Units {
		t.Fatalf("lost %v", chk.Missing)
	}
	// Same absolute budget again: nothing more to do.
	c2 := c.withBudget(c.budget(r.TokensBefore))
	if again := run(t, c2, r.Text); again.Text != r.Text {
		t.Fatalf("budget not idempotent")
	}
}

// TestSummarize* are in summarize_test.go.

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for field, cfg := range map[string]Config{
		"near_dup_threshold":   {NearDupThreshold: 1.5},
		"budget_tokens":        {BudgetTokens: -1},
		"budget_ratio":         {BudgetRatio: 1},
		"summarize_min_tokens": {SummarizeMinTokens: -3},
		"summarize_ratio":      {SummarizeRatio: 1},
	} {
		err := cfg.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestParsePrompts(t *testing.T) {
	ps, err := ParsePrompts(strings.NewReader("{\"prompt\":\"a\"}\n\n{\"prompt\":\"b\",\"x\":1}\n"), "set.jsonl")
	if err != nil || !reflect.DeepEqual(ps, []string{"a", "b"}) {
		t.Fatalf("jsonl: %v %v", ps, err)
	}
	ps, err = ParsePrompts(strings.NewReader("{\"prompt\":\"a\"}\n"), "set.txt")
	if err != nil || !reflect.DeepEqual(ps, []string{"a"}) {
		t.Fatalf("jsonl without extension: %v %v", ps, err)
	}
	doc := "{\n  \"a\": 1\n}\nWhat is a?"
	ps, err = ParsePrompts(strings.NewReader(doc), "p.txt")
	if err != nil || !reflect.DeepEqual(ps, []string{doc}) {
		t.Fatalf("plain: %v %v", ps, err)
	}
	if _, err := ParsePrompts(strings.NewReader("{\"text\":\"a\"}\n"), "x.jsonl"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("missing prompt field: %v", err)
	}
	if _, err := ParsePrompts(strings.NewReader("  \n"), "empty.txt"); err == nil {
		t.Fatal("empty file accepted")
	}
}

func TestEvaluate(t *testing.T) {
	_, prompts := agentPrompts(t)
	r, err := Evaluate(context.Background(), mustNew(t, DefaultConfig(), nil), prompts, counter())
	if err != nil {
		t.Fatal(err)
	}
	if r.Prompts != len(prompts) || r.ProtectedKept != 1 || !r.Idempotent || r.TokensAfter >= r.TokensBefore {
		t.Fatalf("report: %+v", r)
	}
	sum := 0
	for _, p := range r.Passes {
		sum += p.TokensSaved
	}
	if sum != r.TokensBefore-r.TokensAfter {
		t.Fatalf("pass savings %d != %d", sum, r.TokensBefore-r.TokensAfter)
	}
	b, _ := json.Marshal(r)
	for _, k := range []string{`"prompts"`, `"tokens_before"`, `"tokens_after"`, `"ratio"`, `"tokens_saved"`, `"protected_kept"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s", k)
		}
	}
}

// TestMeterExact checks that counting line pieces adds up to the whole
// count, for both exact encodings, on every corpus at hand.
func TestMeterExact(t *testing.T) {
	_, prompts := agentPrompts(t)
	prompts = append(prompts, emailPrompts(t, 12, 6000)...)
	prompts = append(prompts, longContext(), "a\nb\n\n1\n\nx\r\ny  \n\t\nz", "}\n/path\n{x\n")
	reg := tokens.NewRegistry()
	for _, enc := range []tokens.Encoding{tokens.O200k, tokens.Cl100k} {
		cnt := reg.Encoding(enc)
		for i, p := range prompts {
			m := newMeter(cnt)
			if !m.piecewise {
				t.Fatalf("%s: not piecewise", enc)
			}
			if got, want := m.count(p), cnt.Count(p).Tokens; got != want {
				t.Errorf("%s prompt %d: piecewise %d, whole %d", enc, i, got, want)
			}
		}
	}
	// Estimates are counted whole.
	est := reg.ForModel("claude-3-haiku")
	m := newMeter(est)
	if m.piecewise || m.count(prompts[0]) != est.Count(prompts[0]).Tokens {
		t.Fatal("estimate counter must be counted whole")
	}
}

func TestConcurrentUse(t *testing.T) {
	_, prompts := agentPrompts(t)
	c := mustNew(t, DefaultConfig(), nil)
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i] = run(t, c, p).Text
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range prompts {
				r, err := c.Compress(context.Background(), p, counter())
				if err != nil || r.Text != want[i] {
					t.Errorf("concurrent result differs for prompt %d (%v)", i, err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mustNew(t, DefaultConfig(), nil).Compress(ctx, "hello   world", counter())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestAllPassesInvariants runs every pass at once (lossy ones with an
// absolute budget) over real text and checks the invariants.
func TestAllPassesInvariants(t *testing.T) {
	_, prompts := agentPrompts(t)
	prompts = append(prompts, longContext())
	prompts = append(prompts, emailPrompts(t, 6, 6000)...)
	cfg := DefaultConfig()
	cfg.JSONTable, cfg.Filler, cfg.Stopwords, cfg.BudgetTokens = true, true, true, 300
	c := mustNew(t, cfg, nil)
	for i, p := range prompts {
		r := run(t, c, p)
		checkResult(t, c, p, r)
		if r.Tokens > 300 && !strings.Contains(r.Passes[len(r.Passes)-1].Note, "not reached") {
			t.Errorf("prompt %d: %d tokens over budget without a note", i, r.Tokens)
		}
	}
}
