// Package common holds what every part of penny's TUI shares within one
// session: styles, global keys, the core services, the size and a logger,
// plus the status-message type and the helpers panes render with.
package common

import (
	"github.com/pennyllm/penny/core/cache"
	"io"
	"log/slog"

	"github.com/pennyllm/penny/tui/keys"
	"github.com/pennyllm/penny/tui/styles"
)

// Common is threaded by pointer through every component of one program. It
// belongs to one session: never share a Common between programs.
type Common struct {
	Styles   styles.Styles
	Keys     keys.Global
	Services Services
	Logger   *slog.Logger
	Width    int
	Height   int
}

// New returns a Common with dark styles (until the terminal reports its
// background) and a logger that discards when log is nil.
func New(svc Services, noColor bool, log *slog.Logger) *Common {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Common{
		Styles:   styles.New(true, noColor),
		Keys:     keys.NewGlobal(),
		Services: svc,
		Logger:   log,
	}
}

// SetBackground rebuilds the styles for the terminal's background.
func (c *Common) SetBackground(dark bool) {
	c.Styles = styles.New(dark, c.Styles.NoColor)
}

// Current is the playground's state a view needs when it is shown: the
// prompt being edited, the cache scope it would be looked up in (model set
// from the current route) and the traffic level.
type Current struct {
	Prompt         string
	Scope          cache.Scope
	RequestsPerDay int64
}
