package storage

import (
	"context"
	"path/filepath"
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
