package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/panes"
)

// handleSendDone ends a send: on success the actual cost goes next to the
// projection and the answer is rendered; on failure the prompt stays in the
// editor and the status line says why.
func (m *Model) handleSendDone(msg sendMsg) tea.Cmd {
	m.send.cancel()
	m.send = nil
	var warn tea.Cmd
	switch {
	case errors.Is(msg.err, context.Canceled):
		m.answer.Finish("", "cancelled")
		return common.ReportInfo("send cancelled; the prompt is still in the editor")
	case errors.Is(msg.err, send.ErrNotRecorded):
		// The answer is valid; only the bookkeeping failed.
		warn = common.ReportErr("answered, but the send was not fully recorded", msg.err)
	case msg.err != nil:
		m.answer.Finish("", "send failed")
		return common.ReportErr("send failed: "+firstLine(msg.err.Error()), msg.err)
	}
	out := msg.res
	m.answer.Finish(out.Response.Text, "")
	m.cost.SetActual(&out)
	info := "answered by " + common.OneLine(answeredBy(out)) + " · actual " + out.Cost.ActualNanos.String()
	if sm := out.Summary; sm != nil && sm.Applied {
		// The summary's cost is in the actual figure; say what it bought.
		info += fmt.Sprintf(" · summary by %s −%d tokens for %s", common.OneLine(sm.Model), sm.TokensSaved, sm.ActualNanos)
	}
	for _, a := range out.Alerts {
		info += " · " + common.OneLine(a.Message)
	}
	if warn == nil && len(out.Warnings) > 0 {
		warn = common.ReportErr(common.OneLine(out.Warnings[0]), errors.New(strings.Join(out.Warnings, "; ")))
	}
	status := common.ReportInfo(info)
	if warn != nil {
		status = warn // one status line: the problem outranks the summary
	}
	return tea.Batch(m.renderAnswerIfNeeded(), status)
}

func answeredBy(o send.Outcome) string {
	switch {
	case o.Cache.Outcome == cache.ExactHit || o.Cache.Outcome == cache.SemanticHit:
		return "cache"
	case o.Response.Model != "":
		return o.Response.Model
	}
	return o.Route.Model
}

// renderAnswerIfNeeded returns the command rendering the finished answer
// with glamour for the answer pane's current width.
func (m *Model) renderAnswerIfNeeded() tea.Cmd {
	w := m.answerWidth()
	if !m.showAns || w <= 0 || !m.answer.NeedsRender(w) {
		return nil
	}
	text, style, id := m.answer.Text(), m.c.Styles.GlamourStyle(), m.sendSeq
	// Mark the width as in progress so resizes do not queue duplicates.
	m.answer.SetRendered("", w)
	return func() tea.Msg {
		out, err := panes.RenderMarkdown(text, style, w)
		return answerRenderedMsg{id: id, width: w, text: out, err: err}
	}
}

// shutdown cancels everything in flight; the program is quitting.
func (m *Model) shutdown() {
	if m.send != nil {
		m.send.cancel()
	}
	if m.planCancel != nil {
		m.planCancel()
	}
}
