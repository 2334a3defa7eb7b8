// Package budget keeps penny from spending more than the user allowed: daily,
// monthly and per-request caps, enforced by reserving each call's maximum
// cost before it is sent and settling with the actual cost afterwards.
// The atomic check-and-reserve lives behind Store (storage/budget.go does it
// in one immediate SQLite transaction); the policy lives here.
package budget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pennyllm/penny/core/money"
)

// Config is the [budget] section of penny.toml. A zero cap means no cap.
// The lead's config loader applies PENNY_DAILY_BUDGET_USD,
// PENNY_MONTHLY_BUDGET_USD and PENNY_REQUEST_BUDGET_USD over these fields.
type Config struct {
	DailyUSD   float64 `toml:"daily_usd"`
	MonthlyUSD float64 `toml:"monthly_usd"`
	RequestUSD float64 `toml:"request_usd"`
	// AlertsPct are the shares of a daily or monthly cap at which an alert
	// fires, in percent.
	AlertsPct []int `toml:"alerts_pct"`
	// ReservationTTL is how long a hold survives without being settled or
	// released. It must outlast the slowest call (timeouts × retries); it
	// exists so that a crashed process's holds stop blocking the budget.
	ReservationTTL time.Duration `toml:"reservation_ttl"`
}

// DefaultConfig has no caps, alerts at 50/80/100% and a 15-minute hold TTL.
func DefaultConfig() Config {
	return Config{AlertsPct: []int{50, 80, 100}, ReservationTTL: 15 * time.Minute}
}

// FieldError names the config field a problem is in ("budget.daily_usd").
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrors is every problem Validate found.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// maxUSD bounds caps so that nanos × 100 (the alert arithmetic) stays far
// inside int64.
const maxUSD = 1e6

// Validate checks every field and returns FieldErrors (nil when valid).
func (c Config) Validate() error {
	var errs FieldErrors
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: "budget." + field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"daily_usd", c.DailyUSD}, {"monthly_usd", c.MonthlyUSD}, {"request_usd", c.RequestUSD}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 || f.v > maxUSD {
			bad(f.name, "must be a dollar amount between 0 (no cap) and %.0f, got %v", maxUSD, f.v)
		}
	}
	for i, p := range c.AlertsPct {
		if p < 1 || p > 100 {
			bad("alerts_pct", "entry %d must be a percentage between 1 and 100, got %d", i+1, p)
		}
	}
	if c.ReservationTTL < time.Second || c.ReservationTTL > 24*time.Hour {
		bad("reservation_ttl", "must be between 1s and 24h, got %s", c.ReservationTTL)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Cap names a limit.
type Cap string

const (
	CapRequest Cap = "request"
	CapDaily   Cap = "daily"
	CapMonthly Cap = "monthly"
)

// ErrBudgetExceeded is the sentinel callers branch on (exit non-zero,
// "nothing was sent"). The concrete error is *ExceededError.
var ErrBudgetExceeded = errors.New("budget exceeded")

// ExceededError says which cap a request would pass and by how much.
type ExceededError struct {
	Cap      Cap
	Period   string      // "2026-11-27", "2026-11", or "" for the request cap
	Limit    money.Nanos // the cap
	Spent    money.Nanos // settled spend in the period
	Reserved money.Nanos // holds of calls still in flight
	Request  money.Nanos // this request's maximum cost
}

func (e *ExceededError) Error() string {
	if e.Cap == CapRequest {
		return fmt.Sprintf("budget exceeded: this request could cost up to %s, over the per-request cap of %s; nothing was sent",
			e.Request, e.Limit)
	}
	return fmt.Sprintf("budget exceeded: %s cap %s for %s would be passed (spent %s, reserved by calls in flight %s, this request up to %s); nothing was sent",
		e.Cap, e.Limit, e.Period, e.Spent, e.Reserved, e.Request)
}

// Is makes errors.Is(err, ErrBudgetExceeded) true.
func (e *ExceededError) Is(target error) bool { return target == ErrBudgetExceeded }

// Window is the accounting periods around one instant.
type Window struct {
	Now        time.Time
	DayStart   time.Time // inclusive
	MonthStart time.Time // inclusive
}

// Spend is a snapshot of the budget inside a Store transaction.
type Spend struct {
	Day      money.Nanos // settled since Window.DayStart
	Month    money.Nanos // settled since Window.MonthStart
	Reserved money.Nanos // unexpired holds (they count against both periods)
}

// Hold is a reservation.
type Hold struct {
	ID      int64       // 0 for a hold that needed no storage (no daily or monthly cap)
	Amount  money.Nanos // the maximum cost reserved
	Created time.Time
	Expires time.Time
}

// Store performs the atomic parts. Implementations must make Reserve's
// read-check-insert a single serializable step across processes.
type Store interface {
	// Reserve drops expired holds, reads the Spend for w, calls check and,
	// only if check returns nil, inserts a hold of amount expiring at
	// expires — all in one transaction.
	Reserve(ctx context.Context, w Window, amount money.Nanos, expires time.Time, check func(Spend) error) (Hold, error)
	// Settle removes the hold (if still there) and records actual as spent
	// at w.Now, returning the Spend before and after, in one transaction.
	// Settling an expired or unknown hold still records the spend: the
	// money was spent either way.
	Settle(ctx context.Context, id int64, actual money.Nanos, w Window) (before, after Spend, err error)
	// Release removes a hold without recording spend (the call failed).
	Release(ctx context.Context, id int64) error
	// Spend reads the current Spend for w.
	Spend(ctx context.Context, w Window) (Spend, error)
}

// Alert is a threshold crossed by settled spend.
type Alert struct {
	Cap     Cap         `json:"cap"`
	Period  string      `json:"period"`
	Pct     int         `json:"pct"` // the threshold crossed
	Spent   money.Nanos `json:"spent_nanos"`
	Limit   money.Nanos `json:"limit_nanos"`
	At      time.Time   `json:"at"`
	Message string      `json:"message"`
}

func (a Alert) String() string { return a.Message }

// Notifier receives alerts as they fire (the caller logs them, the TUI shows
// them). Notify must not block for long: it runs on the send path.
type Notifier interface {
	Notify(ctx context.Context, a Alert)
}

// NotifierFunc adapts a function (e.g. one that logs) to Notifier.
type NotifierFunc func(ctx context.Context, a Alert)

// Notify implements Notifier.
func (f NotifierFunc) Notify(ctx context.Context, a Alert) { f(ctx, a) }

// Options tune a Service beyond its Config.
type Options struct {
	Clock    func() time.Time // time.Now when nil
	Location *time.Location   // day and month boundaries; UTC when nil
	Notifier Notifier         // optional
}

// Service applies a Config to a Store. It is safe for concurrent use.
type Service struct {
	cfg                   Config
	daily, monthly, perRq money.Nanos
	alerts                []int
	store                 Store
	clock                 func() time.Time
	loc                   *time.Location
	notify                Notifier
}

// New validates cfg and returns a Service. store may be nil only when
// neither a daily nor a monthly cap is set.
func New(cfg Config, store Store, opt Options) (*Service, error) {
	if cfg.ReservationTTL == 0 {
		cfg.ReservationTTL = DefaultConfig().ReservationTTL
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("budget config: %w", err)
	}
	s := &Service{
		cfg: cfg, store: store, clock: opt.Clock, loc: opt.Location, notify: opt.Notifier,
		daily: money.FromUSD(cfg.DailyUSD), monthly: money.FromUSD(cfg.MonthlyUSD), perRq: money.FromUSD(cfg.RequestUSD),
	}
	s.alerts = slices.Clone(cfg.AlertsPct)
	slices.Sort(s.alerts)
	s.alerts = slices.Compact(s.alerts)
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.periodic() && store == nil {
		return nil, errors.New("budget: a daily or monthly cap needs a store")
	}
	return s, nil
}

// periodic reports whether any cap needs shared state.
func (s *Service) periodic() bool { return s.daily > 0 || s.monthly > 0 }

// Enabled reports whether any cap is set.
func (s *Service) Enabled() bool { return s.periodic() || s.perRq > 0 }

// Window returns the accounting periods around t.
func (s *Service) Window(t time.Time) Window {
	l := t.In(s.loc)
	return Window{
		Now:        t,
		DayStart:   time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, s.loc),
		MonthStart: time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, s.loc),
	}
}

// Reserve holds amount — the request's maximum possible cost — against the
// caps, or returns an *ExceededError (errors.Is ErrBudgetExceeded) and holds
// nothing. The check and the hold are one atomic step in the Store, so
// concurrent reservations from any number of goroutines or processes cannot
// together pass a cap.
func (s *Service) Reserve(ctx context.Context, amount money.Nanos) (Hold, error) {
	if amount < 0 {
		return Hold{}, fmt.Errorf("budget: negative reservation %d", amount)
	}
	now := s.clock()
	if s.perRq > 0 && amount > s.perRq {
		return Hold{}, &ExceededError{Cap: CapRequest, Limit: s.perRq, Request: amount}
	}
	if !s.periodic() {
		return Hold{Amount: amount, Created: now}, nil
	}
	w := s.Window(now)
	h, err := s.store.Reserve(ctx, w, amount, now.Add(s.cfg.ReservationTTL), func(sp Spend) error {
		return s.check(w, sp, amount)
	})
	if err != nil {
		if errors.Is(err, ErrBudgetExceeded) {
			return Hold{}, err
		}
		return Hold{}, fmt.Errorf("budget: reserve %s: %w", amount, err)
	}
	return h, nil
}

// check is the policy Reserve runs inside the Store's transaction.
func (s *Service) check(w Window, sp Spend, amount money.Nanos) error {
	if s.daily > 0 && sp.Day+sp.Reserved+amount > s.daily {
		return &ExceededError{Cap: CapDaily, Period: w.DayStart.Format(time.DateOnly), Limit: s.daily,
			Spent: sp.Day, Reserved: sp.Reserved, Request: amount}
	}
	if s.monthly > 0 && sp.Month+sp.Reserved+amount > s.monthly {
		return &ExceededError{Cap: CapMonthly, Period: w.MonthStart.Format("2006-01"), Limit: s.monthly,
			Spent: sp.Month, Reserved: sp.Reserved, Request: amount}
	}
	return nil
}

// Settle replaces the hold with the actual cost and returns the alerts this
// spend crossed (each threshold fires once per period: only the settle that
// crosses it sees before < threshold ≤ after). Alerts also go to the
// Notifier. actual may exceed the hold when a provider reports more tokens
// than penny counted; it is recorded as is, because it was spent.
func (s *Service) Settle(ctx context.Context, h Hold, actual money.Nanos) ([]Alert, error) {
	if !s.periodic() {
		return nil, nil
	}
	now := s.clock()
	w := s.Window(now)
	before, after, err := s.store.Settle(ctx, h.ID, actual, w)
	if err != nil {
		return nil, fmt.Errorf("budget: settle %s: %w", actual, err)
	}
	alerts := s.crossed(w, before, after)
	if s.notify != nil {
		for _, a := range alerts {
			s.notify.Notify(ctx, a)
		}
	}
	return alerts, nil
}

// Release drops a hold without spending (the call failed or was cancelled).
func (s *Service) Release(ctx context.Context, h Hold) error {
	if !s.periodic() || h.ID == 0 {
		return nil
	}
	if err := s.store.Release(ctx, h.ID); err != nil {
		return fmt.Errorf("budget: release hold %d: %w", h.ID, err)
	}
	return nil
}

func (s *Service) crossed(w Window, before, after Spend) []Alert {
	var out []Alert
	add := func(c Cap, period string, limit, b, a money.Nanos) {
		if limit <= 0 {
			return
		}
		for _, pct := range s.alerts {
			// threshold = limit*pct/100, compared without rounding:
			// spent*100 >= limit*pct.
			crossedBefore := int64(b)*100 >= int64(limit)*int64(pct)
			crossedAfter := int64(a)*100 >= int64(limit)*int64(pct)
			if !crossedBefore && crossedAfter {
				out = append(out, Alert{Cap: c, Period: period, Pct: pct, Spent: a, Limit: limit, At: w.Now,
					Message: fmt.Sprintf("budget alert: %s spend %s reached %d%% of the %s cap (%s)", c, a, pct, period, limit)})
			}
		}
	}
	add(CapDaily, w.DayStart.Format(time.DateOnly), s.daily, before.Day, after.Day)
	add(CapMonthly, w.MonthStart.Format("2006-01"), s.monthly, before.Month, after.Month)
	return out
}

// Line is one cap's state, for the TUI and `penny budget`.
type Line struct {
	Cap      Cap         `json:"cap"`
	Period   string      `json:"period,omitempty"`
	Limit    money.Nanos `json:"limit_nanos"`
	Spent    money.Nanos `json:"spent_nanos"`
	Reserved money.Nanos `json:"reserved_nanos"`
	Pct      float64     `json:"pct"` // (spent) / limit × 100
}

// Status reports every configured cap.
func (s *Service) Status(ctx context.Context) ([]Line, error) {
	var lines []Line
	if s.perRq > 0 {
		lines = append(lines, Line{Cap: CapRequest, Limit: s.perRq})
	}
	if !s.periodic() {
		return lines, nil
	}
	w := s.Window(s.clock())
	sp, err := s.store.Spend(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("budget: status: %w", err)
	}
	if s.daily > 0 {
		lines = append(lines, Line{Cap: CapDaily, Period: w.DayStart.Format(time.DateOnly), Limit: s.daily,
			Spent: sp.Day, Reserved: sp.Reserved, Pct: 100 * float64(sp.Day) / float64(s.daily)})
	}
	if s.monthly > 0 {
		lines = append(lines, Line{Cap: CapMonthly, Period: w.MonthStart.Format("2006-01"), Limit: s.monthly,
			Spent: sp.Month, Reserved: sp.Reserved, Pct: 100 * float64(sp.Month) / float64(s.monthly)})
	}
	return lines, nil
}
