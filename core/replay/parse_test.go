package replay

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseJSONL(t *testing.T) {
	in := "\ufeff" + `{"prompt":"What is 2+2?","model":"gpt-4o","completion_tokens":12,"system":"be brief","user":"ana","time":"2026-11-27T09:30:00Z"}` + "\r\n" +
		"\n" +
		`{"prompt":"Translate \"hello\" to French"}` + "\n" +
		`{"prompt":"no newline at the end","extra":[1,2]}`
	tr, err := Parse(strings.NewReader(in), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Format != FormatJSONL || tr.Skipped != 0 || len(tr.Requests) != 3 {
		t.Fatalf("format %v skipped %d requests %d", tr.Format, tr.Skipped, len(tr.Requests))
	}
	r := tr.Requests[0]
	want := Request{Line: 1, Prompt: "What is 2+2?", Model: "gpt-4o", CompletionTokens: 12, System: "be brief", User: "ana",
		Time: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)}
	if r != want {
		t.Errorf("request 0 = %+v, want %+v", r, want)
	}
	if tr.Requests[1].Line != 3 || tr.Requests[1].Prompt != `Translate "hello" to French` {
		t.Errorf("request 1 = %+v", tr.Requests[1])
	}
	if tr.Requests[2].Line != 4 || tr.Requests[2].Prompt != "no newline at the end" {
		t.Errorf("request 2 = %+v", tr.Requests[2])
	}
}

func TestParseText(t *testing.T) {
	in := "  first prompt  \r\n\nsecond {not json}\nthird"
	tr, err := Parse(strings.NewReader(in), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Format != FormatText {
		t.Fatalf("format = %v", tr.Format)
	}
	got := []string{}
	for _, r := range tr.Requests {
		got = append(got, r.Prompt)
	}
	if strings.Join(got, "|") != "first prompt|second {not json}|third" || tr.Requests[2].Line != 4 {
		t.Errorf("prompts = %q (%+v)", got, tr.Requests)
	}
	// A forced text format takes JSON lines literally.
	tr, err = Parse(strings.NewReader(`{"prompt":"x"}`), ParseOptions{Format: FormatText})
	if err != nil || tr.Requests[0].Prompt != `{"prompt":"x"}` {
		t.Errorf("forced text: %v %+v", err, tr)
	}
}

func TestParseMalformedLenientAndStrict(t *testing.T) {
	lines := []struct {
		text, reason string
	}{
		{`{"prompt":"ok"}`, ""},
		{`{"prompt":"trunc`, "invalid JSON"},
		{`{"model":"gpt-4o"}`, `missing field "prompt"`},
		{`{"prompt":"   "}`, "empty prompt"},
		{`{"prompt":"x","completion_tokens":"many"}`, `field "completion_tokens"`},
		{`{"prompt":"x","completion_tokens":-3}`, "outside 0.."},
		{`{"prompt":"x","time":"yesterday"}`, "not RFC 3339"},
		{`plain text in a JSONL file`, "not a JSON object"},
		{`{"prompt":"a"} {"prompt":"b"}`, "more than one JSON value"},
		{`{"prompt":"nul\u0000"}`, "NUL"},
		{"{\"prompt\":\"bad \xff utf8\"}", ""}, // encoding/json replaces invalid bytes with U+FFFD
		{`{"prompt":"ok again"}`, ""},
	}
	var in []string
	for _, l := range lines {
		in = append(in, l.text)
	}
	src := strings.Join(in, "\n")
	tr, err := Parse(strings.NewReader(src), ParseOptions{KeepSkips: 100})
	if err != nil {
		t.Fatal(err)
	}
	skips := map[int]string{}
	for _, s := range tr.Skips {
		skips[s.Line] = s.Reason
	}
	for i, l := range lines {
		got, skipped := skips[i+1]
		if l.reason == "" && skipped {
			t.Errorf("line %d skipped: %s", i+1, got)
		}
		if l.reason != "" && !strings.Contains(got, l.reason) {
			t.Errorf("line %d: reason %q, want it to mention %q", i+1, got, l.reason)
		}
	}
	if tr.Skipped != len(tr.Skips) || len(tr.Requests)+tr.Skipped != len(lines) {
		t.Errorf("skipped %d (%d listed), requests %d, lines %d", tr.Skipped, len(tr.Skips), len(tr.Requests), len(lines))
	}

	_, err = Parse(strings.NewReader(src), ParseOptions{Strict: true})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.Contains(err.Error(), "line 2: invalid JSON") {
		t.Errorf("strict: %v", err)
	}
	// KeepSkips bounds the list, not the count.
	tr, _ = Parse(strings.NewReader(src), ParseOptions{KeepSkips: 2})
	if len(tr.Skips) != 2 || tr.Skipped != 9 {
		t.Errorf("KeepSkips: listed %d counted %d", len(tr.Skips), tr.Skipped)
	}
}

func TestParseLongLineIsSkippedAndParsingGoesOn(t *testing.T) {
	long := `{"prompt":"` + strings.Repeat("a", 300<<10) + `"}`
	src := `{"prompt":"before"}` + "\n" + long + "\n" + `{"prompt":"after"}` + "\n"
	tr, err := Parse(strings.NewReader(src), ParseOptions{MaxLineBytes: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Requests) != 2 || tr.Requests[1].Prompt != "after" || tr.Requests[1].Line != 3 {
		t.Fatalf("requests = %+v", tr.Requests)
	}
	if tr.Skipped != 1 || !strings.Contains(tr.Skips[0].Error(), "line 2: line longer than") {
		t.Errorf("skips = %v", tr.Skips)
	}
	// Within the default limit the same line parses.
	tr, err = Parse(strings.NewReader(src), ParseOptions{})
	if err != nil || len(tr.Requests) != 3 {
		t.Errorf("default limit: %v, %d requests", err, len(tr.Requests))
	}
}

func TestParseNothingUsable(t *testing.T) {
	for _, src := range []string{"", "\n\n  \n", `{"nope":1}` + "\n" + `{"prompt":""}`} {
		_, err := Parse(strings.NewReader(src), ParseOptions{})
		if !errors.Is(err, ErrNoRequests) {
			t.Errorf("%q: err = %v, want ErrNoRequests", src, err)
		}
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk on fire")
	}
	f.n--
	return copy(p, "line\n"), nil
}

func TestParseReadError(t *testing.T) {
	_, err := Parse(&failingReader{n: 2}, ParseOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "after line 2") {
		t.Errorf("err = %v", err)
	}
}

// FuzzParse checks that any input parses without panicking, that every
// request and skip carries a line number inside the input, that lenient
// parsing accounts for every non-blank line, and that strict parsing fails
// exactly when lenient parsing skipped something.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"hi","model":"gpt-4o","completion_tokens":5}`,
		"plain\nlines\n\n",
		`{"prompt":"a"}` + "\n" + `{"prompt":`,
		"\ufeff{\"prompt\":\"bom\"}\r\n",
		`{"prompt":"x","time":"2026-01-02T03:04:05Z","completion_tokens":1e3}`,
		"\xff\xfe",
		`{"prompt":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tr, err := Parse(strings.NewReader(src), ParseOptions{MaxLineBytes: 256, KeepSkips: 1 << 20})
		if tr == nil {
			t.Fatal("nil traffic")
		}
		lines := strings.Count(src, "\n") + 1
		nonBlank := 0
		parts := strings.Split(src, "\n")
		for i, l := range parts {
			size := len(l)
			if i < len(parts)-1 {
				size++ // its newline
			}
			if size > 256+2 {
				nonBlank++ // too long: skipped even when blank
				continue
			}
			l = strings.TrimSpace(strings.TrimSuffix(l, "\r"))
			if i == 0 {
				l = strings.TrimPrefix(l, "\ufeff")
			}
			if l != "" {
				nonBlank++
			}
		}
		for _, r := range tr.Requests {
			if r.Line < 1 || r.Line > lines || r.Prompt == "" || r.CompletionTokens < 0 {
				t.Fatalf("bad request %+v (lines %d)", r, lines)
			}
		}
		for _, s := range tr.Skips {
			if s.Line < 1 || s.Line > lines || s.Reason == "" {
				t.Fatalf("bad skip %+v", s)
			}
		}
		if got := len(tr.Requests) + tr.Skipped; got != nonBlank {
			t.Fatalf("requests %d + skipped %d != %d non-blank lines", len(tr.Requests), tr.Skipped, nonBlank)
		}
		if (err != nil) != (len(tr.Requests) == 0) {
			t.Fatalf("err %v with %d requests", err, len(tr.Requests))
		}
		_, serr := Parse(strings.NewReader(src), ParseOptions{MaxLineBytes: 256, Strict: true})
		var le *LineError
		if (tr.Skipped > 0) != errors.As(serr, &le) {
			t.Fatalf("strict err %v, lenient skipped %d", serr, tr.Skipped)
		}
	})
}
