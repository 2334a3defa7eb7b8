package tui

import (
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/views"
)

// newScreens builds the views other than the playground. A view whose
// service is nil is left out: the root shows "not available yet" for it.
func newScreens(c *common.Common, readOnly bool) map[Screen]screen {
	s := map[Screen]screen{}
	if c.Services.History != nil {
		s[ScreenHistory] = views.NewHistory(c)
	}
	if c.Services.Rules != nil {
		s[ScreenRules] = views.NewRules(c, readOnly)
	}
	if c.Services.Cache != nil {
		s[ScreenCache] = views.NewCache(c, readOnly)
	}
	if c.Services.Savings != nil {
		s[ScreenSavings] = views.NewSavings(c)
	}
	return s
}
