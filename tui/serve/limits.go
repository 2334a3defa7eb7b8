package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/tui"
)

// Errors a limited session's sends fail with; the playground shows them in
// the status line. Nothing was sent when either is returned.
var (
	ErrSendRate      = errors.New("session send limit")
	ErrSessionBudget = errors.New("session budget used up")
)

// Limits bound what one SSH session may send.
type Limits struct {
	SendsPerMinute int         // 0 = unlimited
	Budget         money.Nanos // actual spend per session; 0 = unlimited
}

// LimitSender wraps the Sender of one session with its send rate and
// budget; main builds one per session in Handler.Playground, so one
// stakeholder cannot use up another's allowance. A send is refused before
// anything is sent when the last minute already holds SendsPerMinute
// sends, or when the session's spend plus the projected cost of the sends
// in flight and of this one would pass the budget; once a send returns,
// its hold is replaced by what it actually cost. A nil sender stays nil
// (the UI then shows sending as unavailable).
func LimitSender(s tui.Sender, l Limits) tui.Sender {
	if s == nil {
		return nil
	}
	return &limited{next: s, l: l, now: time.Now}
}

type limited struct {
	next tui.Sender
	l    Limits
	now  func() time.Time

	mu    sync.Mutex
	sends []time.Time // starts within the last minute, oldest first
	spent money.Nanos // settled actual cost
	held  money.Nanos // projected cost of the sends in flight
}

func (s *limited) Send(ctx context.Context, pl plan.Plan, opt send.Options, onDelta func(string)) (send.Outcome, error) {
	projected := money.Nanos(pl.Cost.OptimizedNanos)
	if err := s.admit(projected); err != nil {
		return send.Outcome{}, err
	}
	out, err := s.next.Send(ctx, pl, opt, onDelta)
	s.mu.Lock()
	s.held -= projected
	s.spent += out.Cost.ActualNanos // 0 for a failed call: providers do not bill those
	s.mu.Unlock()
	return out, err
}

func (s *limited) admit(projected money.Nanos) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.l.SendsPerMinute > 0 {
		cut := now.Add(-time.Minute)
		i := 0
		for i < len(s.sends) && !s.sends[i].After(cut) {
			i++
		}
		s.sends = s.sends[i:]
		if len(s.sends) >= s.l.SendsPerMinute {
			wait := s.sends[0].Add(time.Minute).Sub(now).Round(time.Second)
			return fmt.Errorf("%w: %d sends per minute; try again in %s", ErrSendRate, s.l.SendsPerMinute, wait)
		}
	}
	if s.l.Budget > 0 && s.spent+s.held+projected > s.l.Budget {
		return fmt.Errorf("%w: %s of %s spent, this send is projected at %s; nothing was sent",
			ErrSessionBudget, s.spent+s.held, s.l.Budget, projected)
	}
	s.sends = append(s.sends, now)
	s.held += projected
	return nil
}
