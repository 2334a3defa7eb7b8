package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Serve configures `penny serve`, the SSH server.
type Serve struct {
	Listen string `toml:"listen"`
	// AuthorizedKeys lists the public keys allowed in (OpenSSH
	// authorized_keys format; the comment names the user). Empty means
	// authorized_keys in penny's config directory.
	AuthorizedKeys string `toml:"authorized_keys"`
	MaxSessions    int    `toml:"max_sessions"`
	// IdleTimeout closes a connection with no traffic for this long.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// AuthFailuresPerMinute is how many failed logins one client address
	// may make per minute before every attempt from it is refused.
	AuthFailuresPerMinute int `toml:"auth_failures_per_minute"`
	// SendsPerMinute and SessionBudgetUSD limit what one session may send.
	SendsPerMinute   int     `toml:"sends_per_minute"`
	SessionBudgetUSD float64 `toml:"session_budget_usd"`
}

func defaultServe() Serve {
	return Serve{
		Listen:                "127.0.0.1:2222",
		MaxSessions:           20,
		IdleTimeout:           30 * time.Minute,
		AuthFailuresPerMinute: 10,
		SendsPerMinute:        20,
		SessionBudgetUSD:      1,
	}
}

func (s Serve) validate() error {
	var errs []string
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs = append(errs, fmt.Sprintf("listen: %q is not host:port", s.Listen))
	}
	if s.MaxSessions < 1 {
		errs = append(errs, "max_sessions: must be at least 1")
	}
	if s.IdleTimeout < 0 {
		errs = append(errs, "idle_timeout: must not be negative")
	}
	if s.AuthFailuresPerMinute < 1 {
		errs = append(errs, "auth_failures_per_minute: must be at least 1")
	}
	if s.SendsPerMinute < 0 || s.SessionBudgetUSD < 0 {
		errs = append(errs, "sends_per_minute: limits must not be negative")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}
