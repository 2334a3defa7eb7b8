package history

import (
	"strings"
	"testing"
)

func TestLabelValidAndTier(t *testing.T) {
	for _, tc := range []struct {
		l     Label
		valid bool
		tier  string
	}{
		{Unlabelled, true, ""},
		{WeakOK, true, ""},
		{StrongNeeded, true, ""},
		{TierLabel("balanced"), true, "balanced"},
		{"tier:fast lane", true, "fast lane"},
		{"tier:", false, ""},
		{"tier: balanced", false, ""},
		{"tier:bal\x1b[2J", false, ""},
		{Label("tier:" + strings.Repeat("x", 65)), false, ""},
		{"balanced", false, ""},
		{"Weak_OK", false, ""},
	} {
		if got := tc.l.Valid(); got != tc.valid {
			t.Errorf("%q.Valid() = %v, want %v", tc.l, got, tc.valid)
		}
		tier, ok := tc.l.Tier()
		if tier != tc.tier || ok != (tc.tier != "") {
			t.Errorf("%q.Tier() = %q, %v; want %q", tc.l, tier, ok, tc.tier)
		}
	}
	if TierLabel("strong") != "tier:strong" {
		t.Errorf("TierLabel spelling changed: %q", TierLabel("strong"))
	}
}
