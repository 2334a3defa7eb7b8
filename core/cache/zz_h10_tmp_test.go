package cache

import (
	"context"
	"fmt"
	"testing"
)

type oldJudgeAdapter struct{ j *Calibrated }

func (o oldJudgeAdapter) Scale() string                     { return o.j.Scale() }
func (o oldJudgeAdapter) Judge(q, c Text) Judgement         { return oldJudge(o.j, q, c) }

func BenchmarkTmpServe(b *testing.B) {
	e, j := localJudge(b, 0)
	prompts := demoPrompts(b, 3000)
	long := longText(b)
	for _, tc := range []struct {
		name  string
		judge Judge
	}{{"old", oldJudgeAdapter{j}}, {"new", j}} {
		c, err := New(DefaultConfig(), NewMemoryStore(), e, tc.judge, newClock().Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		for i, p := range prompts {
			if i%2 == 0 {
				if _, err := c.Put(context.Background(), Request{Prompt: p, Scope: gpt}, "a", Meta{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Logf("%d distinct prompts, %d stored", len(prompts), c.Stats().Entries)
		b.Run(tc.name+"/serve-demo", func(b *testing.B) {
			i := 0
			for b.Loop() {
				p := prompts[i%len(prompts)]
				i++
				if _, err := c.Serve(context.Background(), Request{Prompt: p, Scope: gpt}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/lookup-2000tok-keystroke", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := c.Lookup(context.Background(), Request{Prompt: fmt.Sprint(long, " v", i), Scope: gpt}); err != nil {
					b.Fatal(err)
				}
			}
		})
		c.Close()
	}
}
