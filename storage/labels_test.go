package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/core/route"
)

func TestRouteExamples(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "penny.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	add := func(prompt string, l history.Label) int64 {
		id, err := db.AddHistory(ctx, history.Entry{Prompt: prompt, Model: "gpt-4o", PlanJSON: "{}", Label: l})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	add("hello", history.WeakOK)
	add("prove it", history.StrongNeeded)
	add("unlabelled", history.Unlabelled)
	id := add("hello", history.WeakOK)
	if err := db.SetLabel(ctx, id, history.StrongNeeded); err != nil {
		t.Fatal(err)
	}
	ex, err := db.RouteExamples(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"hello": true, "prove it": true}
	if len(ex) != 2 {
		t.Fatalf("examples = %+v, want 2 (deduplicated, unlabelled skipped)", ex)
	}
	for _, e := range ex {
		if want[e.Prompt] != e.StrongNeeded {
			t.Errorf("%q strong_needed = %v; the newest label must win", e.Prompt, e.StrongNeeded)
		}
	}
	if _, ok := route.ParseLabel(string(history.WeakOK)); !ok {
		t.Error("route and history disagree on label names")
	}
}

func TestRouteExamplesTierLabels(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "penny.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	add := func(prompt string) int64 {
		id, err := db.AddHistory(ctx, history.Entry{Prompt: prompt, Model: "gpt-4o", PlanJSON: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	label := func(id int64, l history.Label) {
		if err := db.SetLabel(ctx, id, l); err != nil {
			t.Fatal(err)
		}
	}
	memo := add("summarize the board memo")
	label(memo, history.TierLabel(route.TierBalanced))
	label(add("hello"), history.WeakOK)
	relabelled := add("prove it")
	label(relabelled, history.TierLabel(route.TierStrong))
	label(relabelled, history.StrongNeeded) // the newest label wins
	if err := db.SetLabel(ctx, memo, "tier:"); err == nil {
		t.Error("an empty tier name was accepted")
	}
	ex, err := db.RouteExamples(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]route.Example{
		"summarize the board memo": {Prompt: "summarize the board memo", Tier: route.TierBalanced},
		"hello":                    {Prompt: "hello"},
		"prove it":                 {Prompt: "prove it", StrongNeeded: true},
	}
	if len(ex) != len(want) {
		t.Fatalf("examples = %+v, want %d", ex, len(want))
	}
	for _, e := range ex {
		if e != want[e.Prompt] {
			t.Errorf("example %+v, want %+v", e, want[e.Prompt])
		}
	}
	// The stored label round-trips through the history list unchanged.
	items, err := db.ListHistory(ctx, history.Query{Labelled: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == memo {
			if tier, ok := it.Label.Tier(); !ok || tier != route.TierBalanced {
				t.Errorf("listed label %q, want tier balanced", it.Label)
			}
		}
	}
	if _, ok := route.ExampleFromLabel("x", string(history.TierLabel("x"))); !ok || !strings.HasPrefix(string(history.TierLabel("x")), route.LabelTierPrefix) {
		t.Error("route and history disagree on the tier label spelling")
	}
}
