package ledger

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"
)

// FuzzExport checks that any text a record can carry (model names, error
// messages from providers, tags) survives both export formats intact and
// never breaks a line or a row.
func FuzzExport(f *testing.F) {
	f.Add("gpt-4o", "rate limited (429)", "cli")
	f.Add("m\nodel", "a,\"b\"\r\n", "\x00\xff")
	f.Fuzz(func(t *testing.T, model, errText, tag string) {
		r := Record{ID: 1, Time: time.Unix(1, 0), Model: model, Error: errText, Tag: tag, Status: StatusError}
		var j bytes.Buffer
		e, _ := NewExporter(&j, FormatJSONL)
		if err := e.Write(r); err != nil {
			t.Fatal(err)
		}
		if bytes.Count(j.Bytes(), []byte("\n")) != 1 {
			t.Fatalf("record spans lines: %q", j.String())
		}
		var m map[string]any
		if err := json.Unmarshal(j.Bytes(), &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", j.String(), err)
		}
		// JSON replaces invalid UTF-8 with U+FFFD; compare what JSON can carry.
		want, _ := json.Marshal(errText)
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if m[AttrError] != wantS {
			t.Fatalf("error text %q came back as %q", wantS, m[AttrError])
		}
		var c bytes.Buffer
		e, _ = NewExporter(&c, FormatCSV)
		if err := e.Write(r); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Close(); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&c).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("csv %q: %d rows, %v", c.String(), len(rows), err)
		}
		idx := map[string]int{}
		for i, h := range rows[0] {
			idx[h] = i
		}
		// encoding/csv turns \r\n inside quoted fields into \n on read.
		if got := rows[1][idx[AttrTag]]; got != normalizeCR(tag) {
			t.Fatalf("tag %q came back as %q", tag, got)
		}
	})
}

func normalizeCR(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("\r\n"), []byte("\n")))
}
