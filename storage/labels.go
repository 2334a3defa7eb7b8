package storage

import (
	"context"

	"github.com/pennyllm/penny/core/route"
)

// RouteExamples returns the history prompts the user labelled, as examples
// for the router's learned signal: weak_ok and strong_needed as outcomes,
// "tier:NAME" as a tier label (the router places it by its tiers). When the
// same prompt was labelled more than once, the newest label wins; unknown
// labels are skipped. limit ≤ 0 means no limit.
func (db *DB) RouteExamples(ctx context.Context, limit int) ([]route.Example, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := db.sql.QueryContext(ctx,
		`SELECT prompt, label FROM history WHERE label != '' ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrapErr("list route examples", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []route.Example
	for rows.Next() {
		var prompt, label string
		if err := rows.Scan(&prompt, &label); err != nil {
			return nil, wrapErr("list route examples", err)
		}
		ex, ok := route.ExampleFromLabel(prompt, label)
		if !ok || seen[prompt] {
			continue
		}
		seen[prompt] = true
		out = append(out, ex)
	}
	return out, wrapErr("list route examples", rows.Err())
}
