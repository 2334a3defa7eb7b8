// Package keys holds penny's key bindings as structs of key.Binding. Each
// constructor returns a fresh value so sessions can enable and disable
// bindings (impossible actions drop out of the help footer) independently.
package keys

import "charm.land/bubbles/v2/key"

// Global are the keys the root model handles before the focused pane.
type Global struct {
	Quit      key.Binding
	NextFocus key.Binding
	PrevFocus key.Binding
	Send      key.Binding
	Cancel    key.Binding
	Baseline  key.Binding
	Help      key.Binding
	Demo      key.Binding
	// Lossy switches the lossy compression passes on or off for the
	// prompt being edited (plan.Options.Lossy).
	Lossy key.Binding

	Playground key.Binding
	History    key.Binding
	Rules      key.Binding
	Cache      key.Binding
	Savings    key.Binding
}

// NewGlobal returns the default global bindings.
func NewGlobal() Global {
	return Global{
		Quit:      key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		NextFocus: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "focus")),
		PrevFocus: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "focus back")),
		Send:      key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "send")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Baseline:  key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "baseline")),
		Help:      key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "help")),
		Demo:      key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "demo data")),
		// ctrl+y is free in the editor's key map; f7 for terminals that
		// take ctrl+y (dsusp on BSD ttys outside raw mode).
		Lossy: key.NewBinding(key.WithKeys("ctrl+y", "f7"), key.WithHelp("ctrl+y", "lossy on")),

		Playground: key.NewBinding(key.WithKeys("alt+1", "f2"), key.WithHelp("alt+1/f2", "playground")),
		History:    key.NewBinding(key.WithKeys("alt+2", "f3"), key.WithHelp("alt+2/f3", "history")),
		Rules:      key.NewBinding(key.WithKeys("alt+3", "f4"), key.WithHelp("alt+3/f4", "rules")),
		Cache:      key.NewBinding(key.WithKeys("alt+4", "f5"), key.WithHelp("alt+4/f5", "cache")),
		Savings:    key.NewBinding(key.WithKeys("alt+5", "f6"), key.WithHelp("alt+5/f6", "savings")),
	}
}

// Views lists the view-switching bindings in order.
func (g Global) Views() []key.Binding {
	return []key.Binding{g.Playground, g.History, g.Rules, g.Cache, g.Savings}
}

// Scroll moves through a pane whose content is taller than the pane.
type Scroll struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
}

// NewScroll returns the default scroll bindings.
func NewScroll() Scroll {
	return Scroll{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn", "page down")),
	}
}

// Adjust changes a number (requests/day, a threshold).
type Adjust struct {
	More key.Binding
	Less key.Binding
}

// NewAdjust returns +/- bindings with the given help text.
func NewAdjust(what string) Adjust {
	return Adjust{
		More: key.NewBinding(key.WithKeys("+", "=", "right", "l"), key.WithHelp("+/→", "more "+what)),
		Less: key.NewBinding(key.WithKeys("-", "_", "left", "h"), key.WithHelp("-/←", "fewer "+what)),
	}
}

// List moves through and acts on a list of rows.
type List struct {
	Up     key.Binding
	Down   key.Binding
	Top    key.Binding
	Bottom key.Binding
	Filter key.Binding
	Select key.Binding
}

// NewList returns the default list bindings; select's help names the action.
func NewList(selectHelp string) List {
	return List{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom: key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Select: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", selectHelp)),
	}
}
