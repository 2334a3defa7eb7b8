// Package styles builds penny's per-session lipgloss styles from a palette.
// Styles are values owned by one program: nothing here is package-level
// mutable state, so SSH sessions with different terminals never share them.
package styles

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Palette is the handful of colours every style derives from. A palette whose
// colours are all lipgloss.NoColor renders text attributes only (NO_COLOR).
type Palette struct {
	Fg, Muted, Subtle color.Color
	Accent, Accent2   color.Color
	Good, Warn, Bad   color.Color
	Border, Focus     color.Color
	Selection         color.Color
}

// DarkPalette is for terminals with a dark background.
func DarkPalette() Palette {
	return Palette{
		Fg: lipgloss.Color("#E4E4E7"), Muted: lipgloss.Color("#A1A1AA"), Subtle: lipgloss.Color("#52525B"),
		Accent: lipgloss.Color("#F5C542"), Accent2: lipgloss.Color("#7DD3FC"),
		Good: lipgloss.Color("#4ADE80"), Warn: lipgloss.Color("#FBBF24"), Bad: lipgloss.Color("#F87171"),
		Border: lipgloss.Color("#3F3F46"), Focus: lipgloss.Color("#F5C542"),
		Selection: lipgloss.Color("#3F3F46"),
	}
}

// LightPalette is for terminals with a light background.
func LightPalette() Palette {
	return Palette{
		Fg: lipgloss.Color("#18181B"), Muted: lipgloss.Color("#52525B"), Subtle: lipgloss.Color("#A1A1AA"),
		Accent: lipgloss.Color("#A16207"), Accent2: lipgloss.Color("#0369A1"),
		Good: lipgloss.Color("#15803D"), Warn: lipgloss.Color("#B45309"), Bad: lipgloss.Color("#B91C1C"),
		Border: lipgloss.Color("#D4D4D8"), Focus: lipgloss.Color("#A16207"),
		Selection: lipgloss.Color("#E4E4E7"),
	}
}

// NoColorPalette paints nothing; focus and emphasis fall back to border
// shape, bold and reverse video so the UI stays usable with NO_COLOR.
func NoColorPalette() Palette {
	n := lipgloss.NoColor{}
	return Palette{Fg: n, Muted: n, Subtle: n, Accent: n, Accent2: n, Good: n, Warn: n, Bad: n, Border: n, Focus: n, Selection: n}
}

// Styles is every style the UI uses. Build it with New; rebuild it when the
// terminal reports its background colour.
type Styles struct {
	Dark    bool
	NoColor bool
	Palette Palette

	App        lipgloss.Style
	Title      lipgloss.Style // the app name in the header
	Tab        lipgloss.Style
	TabActive  lipgloss.Style
	Text       lipgloss.Style
	Muted      lipgloss.Style
	Subtle     lipgloss.Style
	Bold       lipgloss.Style
	Accent     lipgloss.Style
	Accent2    lipgloss.Style
	Good       lipgloss.Style
	Warn       lipgloss.Style
	Bad        lipgloss.Style
	Removed    lipgloss.Style // compression: text a pass removed
	Replaced   lipgloss.Style // compression: text a pass rewrote
	Pending    lipgloss.Style // compression: text a summary replaces at send
	Selected   lipgloss.Style // the cursor row of a list
	PaneBorder lipgloss.Style // foreground of an unfocused pane border
	PaneFocus  lipgloss.Style // foreground of the focused pane border
	PaneTitle  lipgloss.Style
	Status     lipgloss.Style
	StatusErr  lipgloss.Style
	StatusInfo lipgloss.Style
	GaugeFill  lipgloss.Style
	GaugeEmpty lipgloss.Style
	GaugeMark  lipgloss.Style
	Label      lipgloss.Style // "actual", "assumed": small tags next to figures
	Dialog     lipgloss.Style
}

// New builds the styles for a dark or light background. noColor selects the
// colourless palette whatever the background.
func New(dark, noColor bool) Styles {
	p := LightPalette()
	if dark {
		p = DarkPalette()
	}
	if noColor {
		p = NoColorPalette()
	}
	s := Styles{Dark: dark, NoColor: noColor, Palette: p}
	base := lipgloss.NewStyle()
	s.App = base
	s.Text = base.Foreground(p.Fg)
	s.Muted = base.Foreground(p.Muted)
	s.Subtle = base.Foreground(p.Subtle)
	s.Bold = base.Bold(true).Foreground(p.Fg)
	s.Accent = base.Foreground(p.Accent).Bold(true)
	s.Accent2 = base.Foreground(p.Accent2)
	s.Good = base.Foreground(p.Good)
	s.Warn = base.Foreground(p.Warn)
	s.Bad = base.Foreground(p.Bad)
	s.Title = base.Foreground(p.Accent).Bold(true)
	s.Tab = base.Foreground(p.Muted)
	s.TabActive = base.Foreground(p.Accent).Bold(true).Underline(true)
	s.Removed = base.Foreground(p.Bad).Strikethrough(true)
	s.Replaced = base.Foreground(p.Warn).Underline(true)
	s.Pending = base.Foreground(p.Accent2).Italic(true)
	s.Selected = base.Background(p.Selection).Bold(true)
	if noColor {
		s.Selected = base.Reverse(true)
	}
	s.PaneBorder = base.Foreground(p.Border)
	s.PaneFocus = base.Foreground(p.Focus)
	s.PaneTitle = base.Foreground(p.Fg).Bold(true)
	s.Status = base.Foreground(p.Muted)
	s.StatusErr = base.Foreground(p.Bad).Bold(true)
	s.StatusInfo = base.Foreground(p.Good)
	s.GaugeFill = base.Foreground(p.Accent2)
	s.GaugeEmpty = base.Foreground(p.Subtle)
	s.GaugeMark = base.Foreground(p.Accent).Bold(true)
	s.Label = base.Foreground(p.Muted).Italic(true)
	s.Dialog = base.Border(lipgloss.RoundedBorder()).BorderForeground(p.Focus).Padding(0, 1)
	return s
}

// GlamourStyle names the glamour standard style matching these styles.
func (s Styles) GlamourStyle() string {
	switch {
	case s.NoColor:
		return "notty"
	case s.Dark:
		return "dark"
	default:
		return "light"
	}
}
