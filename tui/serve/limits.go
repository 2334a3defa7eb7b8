package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/tui"
	"github.com/pennyllm/penny/tui/common"
)

// Errors a limited session's sends fail with; the playground shows them in
// the status line.
var (
	ErrSendRate      = errors.New("send rate limit for this session")
	ErrSessionBudget = errors.New("session budget spent")
)

// Limits are what one SSH session may send.
type Limits struct {
	SendsPerMinute int         // 0 = unlimited
	Budget         money.Nanos // total actual spend of the session; 0 = unlimited
}

// LimitSender wraps the Sender of one session with its send rate and
// budget. main builds one per session in Handler.Playground, so one
// stakeholder cannot use up another's allowance. A send is refused before
// anything is sent when the last minute already holds SendsPerMinute sends,
// or when what the session has spent plus this plan's projected cost would
// pass the budget; what a send actually cost is added afterwards.
func LimitSender(inner tui.Sender, l Limits, now func() time.Time) tui.Sender {
	if now == nil {
		now = time.Now
	}
	return &limited{inner: inner, l: l, now: now}
}

type limited struct {
	inner tui.Sender
	l     Limits
	now   func() time.Time

	mu    sync.Mutex
	sends []time.Time // starts within the last minute
	spent money.Nanos // settled actual cost
	held  money.Nanos // projected cost of sends in flight
}

func (s *limited) Send(ctx context.Context, req common.SendRequest, onDelta func(string)) (common.SendResult, error) {
	projected := money.Nanos(req.Plan.Cost.OptimizedNanos)
	if err := s.admit(projected); err != nil {
		return common.SendResult{}, err
	}
	res, err := s.inner.Send(ctx, req, onDelta)
	s.mu.Lock()
	s.held -= projected
	if err == nil || res.Actual > 0 {
		s.spent += res.Actual
	}
	s.mu.Unlock()
	return res, err
}

func (s *limited) admit(projected money.Nanos) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now()
	if s.l.SendsPerMinute > 0 {
		cut := t.Add(-time.Minute)
		i := 0
		for i < len(s.sends) && !s.sends[i].After(cut) {
			i++
		}
		s.sends = s.sends[i:]
		if len(s.sends) >= s.l.SendsPerMinute {
			wait := s.sends[0].Add(time.Minute).Sub(t).Round(time.Second)
			return fmt.Errorf("%w: %d sends per minute; try again in %s", ErrSendRate, s.l.SendsPerMinute, wait)
		}
	}
	if s.l.Budget > 0 && s.spent+s.held+projected > s.l.Budget {
		return fmt.Errorf("%w: %s of %s used, this send is projected at %s", ErrSessionBudget, s.spent+s.held, s.l.Budget, projected)
	}
	s.sends = append(s.sends, t)
	s.held += projected
	return nil
}
