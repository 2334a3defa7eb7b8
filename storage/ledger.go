package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/money"
)

// LedgerStore implements ledger.Store on the ledger table.
type LedgerStore struct{ db *DB }

// NewLedgerStore returns the ledger store of db.
func NewLedgerStore(db *DB) *LedgerStore { return &LedgerStore{db: db} }

var _ ledger.Store = (*LedgerStore)(nil)

const ledgerColumns = `id, at_unix_ns, user_name, tag, baseline_model, model, response_model, provider, tier,
	cache_outcome, cache_entry_id, scope, projected_prompt_tokens, projected_completion_tokens,
	prompt_tokens, completion_tokens, cached_prompt_tokens, usage_known, projected_nanos, actual_nanos,
	baseline_nanos, reserved_nanos, latency_ms, simulated, status, error,
	saved_cache_nanos, saved_routing_nanos, saved_compression_nanos, saved_discount_nanos`

var ledgerInsert = `INSERT INTO ledger (` + strings.TrimPrefix(ledgerColumns, "id, ") + `)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// insertArgs checks r and returns the values of ledgerInsert.
func insertArgs(r ledger.Record) ([]any, error) {
	if r.Time.IsZero() {
		return nil, fmt.Errorf("record has no time")
	}
	if r.Status == "" {
		r.Status = ledger.StatusOK
	}
	return []any{r.Time.UnixNano(), r.User, r.Tag, r.BaselineModel, r.Model, r.ResponseModel, r.Provider, r.Tier,
		r.CacheOutcome, r.CacheEntryID, r.Scope, r.ProjectedPromptTokens, r.ProjectedCompletionTokens,
		r.PromptTokens, r.CompletionTokens, r.CachedPromptTokens, r.UsageKnown, int64(r.ProjectedNanos),
		int64(r.ActualNanos), int64(r.BaselineNanos), int64(r.ReservedNanos), r.LatencyMS, r.Simulated,
		string(r.Status), r.Error,
		int64(r.Saved.Cache), int64(r.Saved.Routing), int64(r.Saved.Compression), int64(r.Saved.Discount)}, nil
}

// Append stores r (its ID is ignored) and returns the new row's id.
func (s *LedgerStore) Append(ctx context.Context, r ledger.Record) (int64, error) {
	args, err := insertArgs(r)
	if err != nil {
		return 0, fmt.Errorf("ledger append: %w", err)
	}
	res, err := s.db.sql.ExecContext(ctx, ledgerInsert, args...)
	if err != nil {
		return 0, wrapErr("ledger append", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, wrapErr("ledger append: read id", err)
	}
	return id, nil
}

// AppendBatch implements ledger.BatchStore: the records (IDs ignored) in
// one transaction with one prepared statement, all or none — a replay
// writes thousands of rows a second this way instead of one transaction
// (and one fsync-less WAL commit) per row.
func (s *LedgerStore) AppendBatch(ctx context.Context, rs []ledger.Record) error {
	if len(rs) == 0 {
		return nil
	}
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, ledgerInsert)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, r := range rs {
			args, err := insertArgs(r)
			if err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
		}
		return nil
	})
	return wrapErr(fmt.Sprintf("ledger append %d records", len(rs)), err)
}

// Update replaces the record with r.ID: a pending call's outcome.
func (s *LedgerStore) Update(ctx context.Context, r ledger.Record) error {
	res, err := s.db.sql.ExecContext(ctx, `UPDATE ledger SET at_unix_ns=?, user_name=?, tag=?, baseline_model=?, model=?,
		response_model=?, provider=?, tier=?, cache_outcome=?, cache_entry_id=?, scope=?, projected_prompt_tokens=?,
		projected_completion_tokens=?, prompt_tokens=?, completion_tokens=?, cached_prompt_tokens=?, usage_known=?,
		projected_nanos=?, actual_nanos=?, baseline_nanos=?, reserved_nanos=?, latency_ms=?, simulated=?, status=?, error=?,
		saved_cache_nanos=?, saved_routing_nanos=?, saved_compression_nanos=?, saved_discount_nanos=? WHERE id=?`,
		r.Time.UnixNano(), r.User, r.Tag, r.BaselineModel, r.Model, r.ResponseModel, r.Provider, r.Tier,
		r.CacheOutcome, r.CacheEntryID, r.Scope, r.ProjectedPromptTokens, r.ProjectedCompletionTokens,
		r.PromptTokens, r.CompletionTokens, r.CachedPromptTokens, r.UsageKnown, int64(r.ProjectedNanos),
		int64(r.ActualNanos), int64(r.BaselineNanos), int64(r.ReservedNanos), r.LatencyMS, r.Simulated,
		string(r.Status), r.Error,
		int64(r.Saved.Cache), int64(r.Saved.Routing), int64(r.Saved.Compression), int64(r.Saved.Discount), r.ID)
	if err != nil {
		return wrapErr("ledger update", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ledger update: no record %d", r.ID)
	}
	return nil
}

// Scan calls fn for every record f selects, oldest first. With f.Limit it
// delivers the most recent Limit records, still oldest first.
func (s *LedgerStore) Scan(ctx context.Context, f ledger.Filter, fn func(ledger.Record) error) error {
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "at_unix_ns >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at_unix_ns < ?"), append(args, f.Until.UnixNano())
	}
	if f.User != "" {
		where, args = append(where, "user_name = ?"), append(args, f.User)
	}
	if f.Tag != "" {
		where, args = append(where, "tag = ?"), append(args, f.Tag)
	}
	if f.Model != "" {
		where, args = append(where, "model = ?"), append(args, f.Model)
	}
	q := `SELECT ` + ledgerColumns + ` FROM ledger`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit > 0 {
		q = `SELECT * FROM (` + q + ` ORDER BY at_unix_ns DESC, id DESC LIMIT ?) ORDER BY at_unix_ns, id`
		args = append(args, f.Limit)
	} else {
		q += ` ORDER BY at_unix_ns, id`
	}
	rows, err := s.db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return wrapErr("ledger scan", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return wrapErr("ledger scan: read row", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return wrapErr("ledger scan", rows.Err())
}

func scanRecord(rows *sql.Rows) (ledger.Record, error) {
	var r ledger.Record
	var at int64
	var proj, act, base, resv int64
	var status string
	err := rows.Scan(&r.ID, &at, &r.User, &r.Tag, &r.BaselineModel, &r.Model, &r.ResponseModel, &r.Provider,
		&r.Tier, &r.CacheOutcome, &r.CacheEntryID, &r.Scope, &r.ProjectedPromptTokens,
		&r.ProjectedCompletionTokens, &r.PromptTokens, &r.CompletionTokens, &r.CachedPromptTokens,
		&r.UsageKnown, &proj, &act, &base, &resv, &r.LatencyMS, &r.Simulated, &status, &r.Error,
		&r.Saved.Cache, &r.Saved.Routing, &r.Saved.Compression, &r.Saved.Discount)
	if err != nil {
		return r, err
	}
	r.Time = time.Unix(0, at).UTC()
	r.ProjectedNanos, r.ActualNanos = money.Nanos(proj), money.Nanos(act)
	r.BaselineNanos, r.ReservedNanos = money.Nanos(base), money.Nanos(resv)
	r.Status = ledger.Status(status)
	return r, nil
}
