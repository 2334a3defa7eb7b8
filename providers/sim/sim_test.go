package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/tokens"
)

var toks = tokens.NewRegistry()

func newSim(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg, toks)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ask(model, prompt string) llm.Request {
	return llm.Request{Model: model, Messages: []llm.Message{{Role: "user", Content: prompt}}}
}

func TestDeterministicWithUsage(t *testing.T) {
	p := newSim(t, Config{})
	req := ask("gpt-4o-mini", "Write a Python function that removes duplicates from a list")
	a, err := p.Chat(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Chat(context.Background(), req, nil)
	if a != b {
		t.Fatalf("not deterministic:\n%+v\n%+v", a, b)
	}
	c := toks.ForModel("gpt-4o-mini")
	if !a.Simulated || a.Provider != "sim" || a.Model != "gpt-4o-mini" || !a.UsageKnown || a.FinishReason != "stop" {
		t.Fatalf("response flags: %+v", a)
	}
	if a.Usage.PromptTokens != llm.PromptTokens(c, req.Messages) || a.Usage.CompletionTokens != c.Count(a.Text).Tokens {
		t.Fatalf("usage %+v", a.Usage)
	}
	// A Claude model is counted with its (estimated) tokenizer, so usage differs.
	cl, _ := p.Chat(context.Background(), ask("claude-3-haiku", req.Messages[0].Content), nil)
	if cl.Usage.PromptTokens != llm.PromptTokens(toks.ForModel("claude-3-haiku"), req.Messages) {
		t.Fatalf("claude usage %+v", cl.Usage)
	}
}

func TestCategories(t *testing.T) {
	p := newSim(t, Config{})
	for prompt, want := range map[string]string{
		"Why does my Go code fail to compile with this error?":          "code",
		"Calculate the average of 3, 5 and 10":                          "math",
		"Summarize this article about the quarterly sales of Acme Corp": "summarise",
		"TL;DR of the meeting notes please":                             "summarise",
		"Translate 'thank you for your message' into French":            "translate",
		"What are good habits for growing tomatoes on a balcony?":       "",
	} {
		if got := p.Categorize(prompt); got != want {
			t.Errorf("%q: category %q, want %q", prompt, got, want)
		}
	}
	ans := p.Answer("gpt-4o", "What are good habits for growing tomatoes on a balcony?")
	if !strings.Contains(ans, "good habits growing tomatoes") {
		t.Errorf("template answer should mention the topic: %q", ans)
	}
	sum := p.Answer("gpt-4o", "Summarize this article about the quarterly sales of Acme Corp")
	if !strings.Contains(sum, "article quarterly sales Acme") || strings.Contains(sum, "{topic}") {
		t.Errorf("summary topic: %q", sum)
	}
}

func TestStreamingChunksLatencyAndCancel(t *testing.T) {
	p := newSim(t, Config{Latency: 40 * time.Millisecond, ChunkDelay: 2 * time.Millisecond, ChunkWords: 2})
	req := ask("gpt-4o", "Summarise the key points of the report")
	var parts []string
	start := time.Now()
	resp, err := p.Chat(context.Background(), req, func(d string) { parts = append(parts, d) })
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 40*time.Millisecond {
		t.Fatal("latency not applied")
	}
	if strings.Join(parts, "") != resp.Text || len(parts) < 5 {
		t.Fatalf("%d chunks do not rebuild the text", len(parts))
	}

	slow := newSim(t, Config{ChunkDelay: 50 * time.Millisecond, ChunkWords: 1})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	start = time.Now()
	_, err = slow.Chat(ctx, req, func(string) {
		n++
		if n == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || n != 2 || time.Since(start) > time.Second {
		t.Fatalf("cancel: err %v after %d chunks", err, n)
	}
}

func TestFaultMarkers(t *testing.T) {
	p := newSim(t, Config{Hang: 30 * time.Millisecond})
	for marker, kind := range map[string]error{
		"rate_limit": llm.ErrRateLimited, "server_error": llm.ErrServer, "timeout": llm.ErrTimeout,
		"bad_response": llm.ErrBadResponse, "auth": llm.ErrAuth,
	} {
		_, err := p.Chat(context.Background(), ask("gpt-4o", "hello [[sim:"+marker+"]] there"), nil)
		var e *llm.Error
		if !errors.Is(err, kind) || !errors.As(err, &e) || e.Provider != "sim" {
			t.Errorf("%s: %v", marker, err)
		}
	}
	_, err := p.Chat(context.Background(), ask("gpt-4o", "[[sim:rate_limit]]"), nil)
	if err.Error() != "rate limited by sim (429); retry after 1s: simulated fault" {
		t.Errorf("message %q", err)
	}
	// Unknown markers are ignored (and stripped from the answer).
	resp, err := p.Chat(context.Background(), ask("gpt-4o", "hello [[sim:nonsense]]"), nil)
	if err != nil || strings.Contains(resp.Text, "[[sim") {
		t.Errorf("unknown marker: %v %q", err, resp.Text)
	}
	// A simulated hang gives way to the caller's deadline.
	long := newSim(t, Config{Hang: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := long.Chat(ctx, ask("gpt-4o", "[[sim:timeout]]"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang ignores ctx: %v", err)
	}
}

func TestFaultRateIsDeterministicShare(t *testing.T) {
	p := newSim(t, Config{Fault: FaultServerError, FaultRate: 0.3})
	failed := map[int]bool{}
	for i := range 1000 {
		_, err := p.Chat(context.Background(), ask("gpt-4o-mini", fmt.Sprintf("question number %d", i)), nil)
		if err != nil {
			if !errors.Is(err, llm.ErrServer) {
				t.Fatal(err)
			}
			failed[i] = true
		}
	}
	if n := len(failed); n < 250 || n > 350 {
		t.Fatalf("fault_rate 0.3 failed %d of 1000", n)
	}
	for i := range 50 {
		_, err := p.Chat(context.Background(), ask("gpt-4o-mini", fmt.Sprintf("question number %d", i)), nil)
		if (err != nil) != failed[i] {
			t.Fatalf("request %d changed outcome", i)
		}
	}
	all := newSim(t, Config{Fault: FaultRateLimit})
	if _, err := all.Chat(context.Background(), ask("gpt-4o", "anything"), nil); !errors.Is(err, llm.ErrRateLimited) {
		t.Fatalf("fault without rate should hit every request: %v", err)
	}
}

func TestMaxTokensTruncates(t *testing.T) {
	p := newSim(t, Config{})
	req := ask("gpt-4o", "Explain how compilers optimise loops in code")
	req.MaxTokens = 12
	resp, err := p.Chat(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != "length" || resp.Usage.CompletionTokens > 12 || resp.Usage.CompletionTokens < 6 {
		t.Fatalf("truncation: %+v", resp)
	}
}

func TestValidateNamesField(t *testing.T) {
	for field, c := range map[string]Config{
		"latency":     {Latency: -1},
		"chunk_words": {ChunkWords: -1},
		"fault":       {Fault: "meteor"},
		"fault_rate":  {Fault: FaultAuth, FaultRate: 1.5},
	} {
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func FuzzChunks(f *testing.F) {
	f.Add("Hello,  world!\nThis is\ta test.  ", 3)
	f.Add("", 1)
	f.Add("   ", 2)
	f.Fuzz(func(t *testing.T, text string, n int) {
		if n <= 0 || n > 50 {
			return
		}
		parts := chunks(text, n)
		if strings.Join(parts, "") != text {
			t.Fatalf("chunks lose text: %q -> %q", text, parts)
		}
		for _, p := range parts {
			if w := len(strings.FieldsFunc(p, unicode.IsSpace)); w > n {
				t.Fatalf("chunk %q has %d words > %d", p, w, n)
			}
		}
	})
}

func BenchmarkChat(b *testing.B) {
	p := newSim(b, Config{})
	req := ask("gpt-4o-mini", "Summarize the attached quarterly report for the board in five bullet points")
	for b.Loop() {
		if _, err := p.Chat(context.Background(), req, nil); err != nil {
			b.Fatal(err)
		}
	}
}
