package compress

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/tokens"
)

// prompt10k builds a ≈10,000-token (o200k) agent-style prompt from the
// fixtures: each fixture three times, later copies with every digit
// shifted so they are near, not exact, duplicates (as in a long agent
// session), cut at the first paragraph boundary past 10,000 tokens.
func prompt10k(tb testing.TB) string {
	tb.Helper()
	_, ps := agentPrompts(tb)
	c := counter()
	var b strings.Builder
	for shift := 0; ; shift++ {
		for _, p := range ps {
			for _, para := range strings.SplitAfter(p, "\n\n") {
				b.WriteString(shiftDigits(para, shift))
				if shift > 0 && c.Count(b.String()).Tokens >= 10000 {
					return b.String()
				}
			}
		}
	}
}

func shiftDigits(s string, k int) string {
	if k == 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '0' + (r-'0'+rune(k))%10
		}
		return r
	}, s)
}

// byteCounter is a stand-in counter (bytes/4, reported as an estimate so
// the meter counts whole texts) used to time the passes without tiktoken.
type byteCounter struct{}

func (byteCounter) Count(s string) tokens.Count {
	return tokens.Count{Tokens: (len(s) + 3) / 4, Tokenizer: "bytes/4", Exact: false}
}

// cpuTime is the process's user+system CPU time: on a shared machine the
// wall clock of a benchmark mostly measures the other tenants.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// timedCounter measures the time spent inside the real tokenizer.
type timedCounter struct {
	c     tokens.Counter
	spent time.Duration
	bytes int
}

func (t *timedCounter) Count(s string) tokens.Count {
	start := time.Now()
	n := t.c.Count(s)
	t.spent += time.Since(start)
	t.bytes += len(s)
	return n
}

func BenchmarkCompress10k(b *testing.B) {
	p := prompt10k(b)
	ctx := context.Background()
	real := counter()
	b.Logf("prompt: %d bytes, %d tokens", len(p), real.Count(p).Tokens)
	b.Run("tokenizer_only", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			real.Count(p)
		}
		reportCPU(b, start)
	})
	b.Run("passes_only", func(b *testing.B) {
		c, _ := New(DefaultConfig(), nil)
		start := cpuTime()
		for b.Loop() {
			if _, err := c.Compress(ctx, p, byteCounter{}); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("cold", func(b *testing.B) {
		tc := &timedCounter{c: real}
		start := cpuTime()
		for b.Loop() {
			c, _ := New(DefaultConfig(), nil)
			if _, err := c.Compress(ctx, p, tc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tc.spent.Nanoseconds())/float64(b.N), "tokenizer-ns/op")
		b.ReportMetric(float64(tc.bytes)/float64(b.N), "tokenized-bytes/op")
		reportCPU(b, start)
	})
	b.Run("warm_edit", func(b *testing.B) {
		// Re-planning while the user types: same compressor, the prompt
		// grows by one character per call.
		c, _ := New(DefaultConfig(), nil)
		if _, err := c.Compress(ctx, p, real); err != nil {
			b.Fatal(err)
		}
		tc := &timedCounter{c: real}
		q := p
		start := cpuTime()
		for b.Loop() {
			q += "x"
			if _, err := c.Compress(ctx, q, tc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tc.spent.Nanoseconds())/float64(b.N), "tokenizer-ns/op")
		b.ReportMetric(float64(tc.bytes)/float64(b.N), "tokenized-bytes/op")
		reportCPU(b, start)
	})
}
