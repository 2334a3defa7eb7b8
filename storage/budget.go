package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/money"
)

// BudgetStore implements budget.Store. Every operation is one immediate
// transaction (the DSN sets _txlock=immediate), which takes SQLite's write
// lock at BEGIN: two processes' reservations therefore run one after the
// other, each seeing the other's committed hold, and together they cannot
// pass a cap.
//
// Inside one process a mutex serializes the transactions as well. It is not
// needed for correctness; it keeps a burst of goroutines from all spinning
// in SQLite's busy handler (whose sleeps grow to 100 ms) and timing out.
// Create one BudgetStore per DB and share it.
type BudgetStore struct {
	db *DB
	mu sync.Mutex
}

// NewBudgetStore returns the budget store of db.
func NewBudgetStore(db *DB) *BudgetStore { return &BudgetStore{db: db} }

var _ budget.Store = (*BudgetStore)(nil)

// errCheck carries the policy's refusal out of the transaction unwrapped.
type errCheck struct{ err error }

func (e errCheck) Error() string { return e.err.Error() }

// Reserve implements budget.Store.
func (s *BudgetStore) Reserve(ctx context.Context, w budget.Window, amount money.Nanos, expires time.Time, check func(budget.Spend) error) (budget.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h budget.Hold
	err := retryLocked(ctx, func() error {
		return s.db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM budget_reservations WHERE expires_unix_ns <= ?`, w.Now.UnixNano()); err != nil {
				return fmt.Errorf("sweep expired holds: %w", err)
			}
			sp, err := spend(ctx, tx, w)
			if err != nil {
				return err
			}
			if err := check(sp); err != nil {
				return errCheck{err}
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO budget_reservations (created_unix_ns, expires_unix_ns, nanos) VALUES (?, ?, ?)`,
				w.Now.UnixNano(), expires.UnixNano(), int64(amount))
			if err != nil {
				return fmt.Errorf("insert hold: %w", err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("read hold id: %w", err)
			}
			h = budget.Hold{ID: id, Amount: amount, Created: w.Now, Expires: expires}
			return nil
		})
	})
	if ce, ok := errors.AsType[errCheck](err); ok {
		return budget.Hold{}, ce.err
	}
	if err != nil {
		return budget.Hold{}, wrapErr("budget reserve", err)
	}
	return h, nil
}

// Settle implements budget.Store.
func (s *BudgetStore) Settle(ctx context.Context, id int64, actual money.Nanos, w budget.Window) (before, after budget.Spend, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err = retryLocked(ctx, func() error {
		return s.db.tx(ctx, func(tx *sql.Tx) error {
			var err error
			if before, err = spend(ctx, tx, w); err != nil {
				return err
			}
			if id != 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM budget_reservations WHERE id = ?`, id); err != nil {
					return fmt.Errorf("delete hold %d: %w", id, err)
				}
			}
			if actual != 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO budget_spend (at_unix_ns, nanos) VALUES (?, ?)`,
					w.Now.UnixNano(), int64(actual)); err != nil {
					return fmt.Errorf("record spend: %w", err)
				}
			}
			after, err = spend(ctx, tx, w)
			return err
		})
	})
	return before, after, wrapErr("budget settle", err)
}

// Release implements budget.Store.
func (s *BudgetStore) Release(ctx context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := retryLocked(ctx, func() error {
		_, err := s.db.sql.ExecContext(ctx, `DELETE FROM budget_reservations WHERE id = ?`, id)
		return err
	})
	return wrapErr("budget release", err)
}

// Spend implements budget.Store.
func (s *BudgetStore) Spend(ctx context.Context, w budget.Window) (budget.Spend, error) {
	// One SELECT is one read transaction: a consistent snapshot in WAL mode
	// without taking the write lock that reservations queue on.
	sp, err := spend(ctx, s.db.sql, w)
	return sp, wrapErr("budget spend", err)
}

// querier is a *sql.Tx or a *sql.DB.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxLockWait bounds how long budget writes keep retrying a busy database.
// SQLite's busy handler is not fair: a process that commits and begins again
// at once can win the lock repeatedly while another sleeps in back-off, so a
// burst from two processes may outlast one busy timeout. A settle must not
// be lost to that (the money is spent), so writes retry with jitter.
const maxLockWait = 30 * time.Second

func retryLocked(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(maxLockWait)
	for {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+rand.IntN(20)) * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	return errors.Is(wrapErr("", err), ErrLocked)
}

func spend(ctx context.Context, tx querier, w budget.Window) (budget.Spend, error) {
	var day, month, reserved int64
	err := tx.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT SUM(nanos) FROM budget_spend WHERE at_unix_ns >= ?), 0),
		COALESCE((SELECT SUM(nanos) FROM budget_spend WHERE at_unix_ns >= ?), 0),
		COALESCE((SELECT SUM(nanos) FROM budget_reservations WHERE expires_unix_ns > ?), 0)`,
		w.DayStart.UnixNano(), w.MonthStart.UnixNano(), w.Now.UnixNano()).Scan(&day, &month, &reserved)
	if err != nil {
		return budget.Spend{}, fmt.Errorf("read spend: %w", err)
	}
	return budget.Spend{Day: money.Nanos(day), Month: money.Nanos(month), Reserved: money.Nanos(reserved)}, nil
}
