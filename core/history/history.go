// Package history is the record of prompts the user planned or sent, with
// the labels that teach the router which prompts a cheap model handles.
package history

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Label says which model class a prompt needed, as judged by the user:
// an outcome (weak_ok, strong_needed) or the router tier that should serve
// it ("tier:" followed by the tier's name, see TierLabel).
type Label string

const (
	Unlabelled   Label = ""
	WeakOK       Label = "weak_ok"       // the cheap model was enough
	StrongNeeded Label = "strong_needed" // it needed the strong model
)

// tierPrefix starts a tier label; core/route reads the same spelling
// (route.LabelTierPrefix).
const tierPrefix = "tier:"

// TierLabel labels a prompt with the router tier that should serve it.
func TierLabel(tier string) Label { return Label(tierPrefix + tier) }

// Tier is the tier a tier label names; ok is false for other labels.
func (l Label) Tier() (tier string, ok bool) {
	t, ok := strings.CutPrefix(string(l), tierPrefix)
	if !ok || !validTierName(t) {
		return "", false
	}
	return t, true
}

// validTierName accepts what a config's tier name can reasonably be: a
// non-empty, trimmed name without control characters, of bounded length.
func validTierName(t string) bool {
	if t == "" || len(t) > 64 || strings.TrimSpace(t) != t {
		return false
	}
	return !strings.ContainsFunc(t, unicode.IsControl)
}

// Valid reports whether l is one of the defined labels.
func (l Label) Valid() bool {
	if l == Unlabelled || l == WeakOK || l == StrongNeeded {
		return true
	}
	_, ok := l.Tier()
	return ok
}

// Entry is one history row.
type Entry struct {
	ID             int64     `json:"id"`
	Time           time.Time `json:"time"`
	User           string    `json:"user"`
	Prompt         string    `json:"prompt"`
	Model          string    `json:"model"`  // baseline model
	Routed         string    `json:"routed"` // model the plan routed to
	Cache          string    `json:"cache"`  // cache outcome
	PlanJSON       string    `json:"plan_json,omitempty"`
	ProjectedNanos int64     `json:"projected_nanos"`
	ActualNanos    *int64    `json:"actual_nanos,omitempty"` // nil until sent
	Label          Label     `json:"label"`
}

// Query selects entries, newest first.
type Query struct {
	Contains string // case-insensitive substring of prompt, model or routed model
	Labelled bool   // only entries with a label
	Limit    int    // 0 = a default of 200
	Offset   int
}

// Store persists history.
type Store interface {
	AddHistory(ctx context.Context, e Entry) (int64, error)
	ListHistory(ctx context.Context, q Query) ([]Entry, error)
	CountHistory(ctx context.Context) (int, error)
	SetLabel(ctx context.Context, id int64, l Label) error
	SetActual(ctx context.Context, id int64, actualNanos int64) error
}
