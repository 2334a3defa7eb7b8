package common

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// StatusKind says how a status message is shown.
type StatusKind int

const (
	StatusInfo StatusKind = iota
	StatusError
)

// StatusMsg is the one message type for the status line. Text is the short
// reason shown to the user; Detail goes to the log only.
type StatusMsg struct {
	Kind   StatusKind
	Text   string
	Detail string
}

// StatusTTL is how long a status message stays before it clears itself.
const StatusTTL = 6 * time.Second

// ReportErr returns a command that shows reason in the status line and logs
// err in full. A nil err reports nothing.
func ReportErr(reason string, err error) tea.Cmd {
	if err == nil {
		return nil
	}
	return func() tea.Msg {
		return StatusMsg{Kind: StatusError, Text: reason, Detail: err.Error()}
	}
}

// ReportInfo returns a command that shows text in the status line.
func ReportInfo(text string) tea.Cmd {
	return func() tea.Msg { return StatusMsg{Kind: StatusInfo, Text: text} }
}

// LoadPromptMsg asks the root model to put Prompt into the playground
// editor and switch to it (history's "reload").
type LoadPromptMsg struct{ Prompt string }
