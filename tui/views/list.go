// Package views holds penny's screens besides the playground: history,
// rules, cache and savings. Each talks to one optional service through
// commands and renders into the box the root model gives it.
package views

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/tui/keys"
)

// cursor is a selection in a list of n rows shown h at a time.
type cursor struct {
	keys   keys.List
	pos    int
	offset int
}

// move applies a list key; it reports whether msg was one.
func (c *cursor) move(msg tea.KeyPressMsg, n, h int) bool {
	switch {
	case key.Matches(msg, c.keys.Up):
		c.pos--
	case key.Matches(msg, c.keys.Down):
		c.pos++
	case key.Matches(msg, c.keys.Top):
		c.pos = 0
	case key.Matches(msg, c.keys.Bottom):
		c.pos = n - 1
	case msg.String() == "pgdown":
		c.pos += max(1, h-1)
	case msg.String() == "pgup":
		c.pos -= max(1, h-1)
	default:
		return false
	}
	c.clamp(n)
	return true
}

func (c *cursor) clamp(n int) {
	c.pos = max(0, min(c.pos, n-1))
}

// window returns the range of rows to show for h visible rows, keeping the
// cursor in view.
func (c *cursor) window(n, h int) (int, int) {
	c.clamp(n)
	if c.pos < c.offset {
		c.offset = c.pos
	}
	if c.pos >= c.offset+h {
		c.offset = c.pos - h + 1
	}
	c.offset = max(0, min(c.offset, n-h))
	return c.offset, min(n, c.offset+h)
}
