package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pennyllm/penny/core/history"
)

var _ history.Store = (*DB)(nil)

// AddHistory inserts an entry and returns its id.
func (db *DB) AddHistory(ctx context.Context, e history.Entry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO history
			(created_at, user_name, prompt, model, routed, cache, plan_json, projected_nanos, actual_nanos, label)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Time.UTC().Format(time.RFC3339Nano), e.User, e.Prompt, e.Model, e.Routed, e.Cache,
			e.PlanJSON, e.ProjectedNanos, e.ActualNanos, string(e.Label))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, wrapErr("add history", err)
}

// ListHistory returns entries newest first.
func (db *DB) ListHistory(ctx context.Context, q history.Query) ([]history.Entry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	where := []string{"1=1"}
	var args []any
	if q.Contains != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.Contains)) + "%"
		where = append(where, `(lower(prompt) LIKE ? ESCAPE '\' OR lower(model) LIKE ? ESCAPE '\' OR lower(routed) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	if q.Labelled {
		where = append(where, "label != ''")
	}
	args = append(args, limit, q.Offset)
	rows, err := db.sql.QueryContext(ctx, `SELECT id, created_at, user_name, prompt, model, routed, cache,
		plan_json, projected_nanos, actual_nanos, label FROM history WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, wrapErr("list history", err)
	}
	defer rows.Close()
	var out []history.Entry
	for rows.Next() {
		var e history.Entry
		var created, label string
		var actual sql.NullInt64
		if err := rows.Scan(&e.ID, &created, &e.User, &e.Prompt, &e.Model, &e.Routed, &e.Cache,
			&e.PlanJSON, &e.ProjectedNanos, &actual, &label); err != nil {
			return nil, wrapErr("list history", err)
		}
		t, err := time.Parse(time.RFC3339Nano, created)
		if err != nil {
			return nil, fmt.Errorf("list history: row %d: bad time %q: %w", e.ID, created, err)
		}
		e.Time, e.Label = t, history.Label(label)
		if actual.Valid {
			v := actual.Int64
			e.ActualNanos = &v
		}
		out = append(out, e)
	}
	return out, wrapErr("list history", rows.Err())
}

// CountHistory returns the number of entries.
func (db *DB) CountHistory(ctx context.Context) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM history`).Scan(&n)
	return n, wrapErr("count history", err)
}

// SetLabel labels an entry for the router's learned signal.
func (db *DB) SetLabel(ctx context.Context, id int64, l history.Label) error {
	if !l.Valid() {
		return fmt.Errorf("label history %d: unknown label %q", id, l)
	}
	return db.updateOne(ctx, "label history", `UPDATE history SET label = ? WHERE id = ?`, string(l), id)
}

// SetActual records the actual cost once the prompt was sent.
func (db *DB) SetActual(ctx context.Context, id int64, actualNanos int64) error {
	return db.updateOne(ctx, "record actual cost", `UPDATE history SET actual_nanos = ? WHERE id = ?`, actualNanos, id)
}

func (db *DB) updateOne(ctx context.Context, op, query string, args ...any) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no history entry %v", args[len(args)-1])
		}
		return nil
	})
	return wrapErr(op, err)
}
