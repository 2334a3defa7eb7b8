package pricing

import (
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Row is one line of `penny prices list`: the catalog entry formatted for
// people. Prices are dollars per 1M tokens; "-" marks an unknown value.
type Row struct {
	ID, Provider          string
	Input, Cached, Output string
	Context, Checked      string
}

// Rows formats every catalog entry, sorted by id.
func (c *Catalog) Rows() []Row {
	rows := make([]Row, 0, len(c.models))
	for _, m := range c.models {
		cached := "-"
		if m.CachedInput > 0 {
			cached = m.CachedInput.String()
		}
		ctx := "-"
		if m.ContextWindow > 0 {
			ctx = tokensShort(m.ContextWindow)
		}
		checked := m.Checked
		if checked == "" {
			checked = "-"
		}
		rows = append(rows, Row{
			ID: m.ID, Provider: m.Provider,
			Input: m.Input.String(), Cached: cached, Output: m.Output.String(),
			Context: ctx, Checked: checked,
		})
	}
	return rows
}

// WriteTable prints Rows as aligned text with a header, for
// `penny prices list`: names left-aligned, numbers right-aligned. The JSON
// form of the list is Models().
func (c *Catalog) WriteTable(w io.Writer) error {
	header := Row{ID: "MODEL", Provider: "PROVIDER", Input: "$IN/1M", Cached: "$CACHED/1M",
		Output: "$OUT/1M", Context: "CONTEXT", Checked: "CHECKED"}
	rows := append([]Row{header}, c.Rows()...)
	var wd [7]int
	cells := func(r Row) [7]string {
		return [7]string{r.ID, r.Provider, r.Input, r.Cached, r.Output, r.Context, r.Checked}
	}
	for _, r := range rows {
		for i, s := range cells(r) {
			wd[i] = max(wd[i], utf8.RuneCountInString(s))
		}
	}
	for _, r := range rows {
		c := cells(r)
		_, err := fmt.Fprintf(w, "%-*s  %-*s  %*s  %*s  %*s  %*s  %s\n",
			wd[0], c[0], wd[1], c[1], wd[2], c[2], wd[3], c[3], wd[4], c[4], wd[5], c[5], c[6])
		if err != nil {
			return fmt.Errorf("price table: %w", err)
		}
	}
	return nil
}

// tokensShort prints a token count the way providers quote it: 128K for
// 128,000 and for 131,072 (binary sizes), 1M likewise; other counts in full.
func tokensShort(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n/(1<<20)) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "K"
	case n >= 1024 && n%1024 == 0:
		return strconv.Itoa(n/1024) + "K"
	}
	return strconv.Itoa(n)
}
