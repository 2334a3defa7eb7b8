package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/core/route"
)

// The History service names the tiers of route.tiers, so the History
// view's b key labels a tier that SetLabel accepts, whatever the tiers
// are called; a tier the config does not have is still refused.
func TestHistoryTiersFollowConfig(t *testing.T) {
	renamed := `[route]
[[route.tiers]]
name = "small"
min_score = 0.0
models = ["gpt-4o-mini"]
[[route.tiers]]
name = "medium"
min_score = 0.3
models = ["gpt-4.1-mini"]
[[route.tiers]]
name = "large"
min_score = 0.6
models = ["gpt-4o"]
[[route.tiers]]
name = "xl"
min_score = 0.8
models = ["gpt-4.1"]
`
	for _, tc := range []struct {
		name   string
		config string // "" = the default config
		want   []string
	}{
		{"default", "", []string{route.TierCheap, route.TierBalanced, route.TierStrong}},
		{"renamed", renamed, []string{"small", "medium", "large", "xl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			if tc.config != "" {
				if err := os.MkdirAll(filepath.Dir(s.configFile()), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(s.configFile(), []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a, svc := appServices(t, s)
			ctx := context.Background()
			got := svc.History.Tiers()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("History.Tiers() = %q, want %q", got, tc.want)
			}
			id, err := a.db.AddHistory(ctx, history.Entry{Prompt: "Summarize the quarterly report in five bullets.", Model: "gpt-4o", PlanJSON: "{}"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tier := range got {
				if err := svc.History.SetLabel(ctx, id, history.TierLabel(tier)); err != nil {
					t.Errorf("label tier %q: %v", tier, err)
				}
			}
			if err := svc.History.SetLabel(ctx, id, history.TierLabel("no-such-tier")); err == nil {
				t.Errorf("a tier the config does not have was accepted")
			}
		})
	}
}
