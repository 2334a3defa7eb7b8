package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/pennyllm/penny/core/replay"
)

func TestZZProfReplay(t *testing.T) {
	if os.Getenv("ZZPROF") == "" {
		t.Skip()
	}
	home := t.TempDir()
	a, err := newApp(globalFlags{}, map[string]string{"HOME": home})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	data, _ := os.ReadFile("fixtures/traffic/demo.jsonl")
	tr, err := replay.Parse(bytes.NewReader(data), replay.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Requests = tr.Requests[:1000]
	p, e, err := a.Replay(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := replay.NewRunner(p, e, replay.Config{Baseline: "gpt-4o", CompletionTokens: 400, Catalog: a.cat, Tokens: a.toks})
	rep, err := r.Run(context.Background(), tr)
	t.Log(rep.RequestsPerSecond, err)
}
