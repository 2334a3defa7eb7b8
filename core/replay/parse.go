// Package replay pushes recorded traffic through penny's full pipeline —
// plan, then execute (which fills the cache) — and reports what penny would
// have saved: baseline versus optimized, savings per strategy, by model,
// and projected per month. It parses JSONL or plain-text traffic from an
// io.Reader and talks to the pipeline through the small interfaces in
// runner.go, so it needs no database, network or terminal.
package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pennyllm/penny/core/plan"
)

// Format is the layout of a traffic file.
type Format int

const (
	// FormatAuto looks at the first non-blank line: a line starting with
	// "{" means JSONL, anything else plain text.
	FormatAuto Format = iota
	// FormatJSONL is one JSON object per line with at least "prompt".
	FormatJSONL
	// FormatText is one prompt per line, taken literally.
	FormatText
)

func (f Format) String() string {
	switch f {
	case FormatJSONL:
		return "jsonl"
	case FormatText:
		return "text"
	default:
		return "auto"
	}
}

// Request is one recorded request.
type Request struct {
	Line             int       `json:"line"`                        // 1-based line in the traffic file
	Prompt           string    `json:"prompt"`                      // the user message
	Model            string    `json:"model,omitempty"`             // the model the caller used (the baseline); "" = the runner's default
	CompletionTokens int       `json:"completion_tokens,omitempty"` // the answer's length if recorded; 0 = the runner's default
	System           string    `json:"system,omitempty"`            // system prompt: part of the cache scope
	User             string    `json:"user,omitempty"`              // who sent it: history and ledger name it
	Time             time.Time `json:"time,omitzero"`               // when it was sent, if recorded
}

// record is the JSONL line as written. Fields are pointers or raw so that
// a wrong type ("completion_tokens": "many") is reported by name.
type record struct {
	Prompt           *string `json:"prompt"`
	Model            string  `json:"model"`
	CompletionTokens *int    `json:"completion_tokens"`
	System           string  `json:"system"`
	User             string  `json:"user"`
	Time             string  `json:"time"`
}

// MaxCompletionTokens bounds a recorded completion length; anything larger
// is a corrupt record rather than an answer (no model writes 10M tokens).
const MaxCompletionTokens = 1 << 20

// DefaultMaxLineBytes bounds one line: a maximal prompt plus JSON escaping.
const DefaultMaxLineBytes = 2*plan.MaxPromptBytes + 64<<10

// ParseOptions control Parse.
type ParseOptions struct {
	Format Format
	// Strict makes the first malformed line an error (a *LineError). By
	// default malformed lines are skipped and counted with their reason:
	// real traffic logs have truncated last lines and the odd corrupt
	// record, and one of them should not throw away a day of replay.
	Strict bool
	// MaxLineBytes bounds one line; 0 = DefaultMaxLineBytes.
	MaxLineBytes int
	// KeepSkips bounds how many skipped lines are listed with their
	// reason in Traffic.Skips (all are counted); 0 = 20.
	KeepSkips int
}

// LineError is a malformed line. Strict parsing returns it; lenient parsing
// records it in Traffic.Skips.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Traffic is a parsed traffic file.
type Traffic struct {
	Format   Format
	Requests []Request
	Skipped  int          // malformed lines skipped (blank lines are not counted)
	Skips    []*LineError // the first ParseOptions.KeepSkips of them
}

// ErrNoRequests is returned when a file holds no usable request.
var ErrNoRequests = errors.New("no requests in traffic")

// Parse reads a whole traffic file. It fails on read errors, on the first
// malformed line when Strict, and with ErrNoRequests when nothing usable
// was found.
func Parse(r io.Reader, opt ParseOptions) (*Traffic, error) {
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = DefaultMaxLineBytes
	}
	if opt.KeepSkips <= 0 {
		opt.KeepSkips = 20
	}
	t := &Traffic{Format: opt.Format}
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		raw, tooLong, err := readLine(br, opt.MaxLineBytes)
		if err == io.EOF && raw == nil && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			return t, fmt.Errorf("read traffic after line %d: %w", line, err)
		}
		line++
		req, lerr := t.parseLine(line, raw, tooLong, opt.MaxLineBytes)
		switch {
		case lerr != nil && opt.Strict:
			return t, lerr
		case lerr != nil:
			t.Skipped++
			if len(t.Skips) < opt.KeepSkips {
				t.Skips = append(t.Skips, lerr)
			}
		case req != nil:
			t.Requests = append(t.Requests, *req)
		}
		if err == io.EOF {
			break
		}
	}
	if t.Format == FormatAuto {
		t.Format = FormatText // an empty file
	}
	if len(t.Requests) == 0 {
		if t.Skipped > 0 {
			return t, fmt.Errorf("%w: all %d non-blank lines are malformed (first: %v)", ErrNoRequests, t.Skipped, t.Skips[0])
		}
		return t, ErrNoRequests
	}
	return t, nil
}

// readLine returns one line without its line ending. A line longer than max
// is consumed to its end and reported as tooLong with a nil slice, so one
// huge line costs no memory and the lines after it still parse.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if n > max+2 { // +2: the line ending
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil && err != io.EOF:
			return nil, false, err
		case err == io.EOF && n == 0:
			return nil, false, io.EOF
		case tooLong:
			return nil, true, err
		}
		// A complete line (err nil) or the last line without a newline (EOF).
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if buf == nil {
			buf = []byte{}
		}
		return buf, false, err
	}
}

// parseLine returns the request on one line, nil for a blank line, or the
// reason the line is malformed.
func (t *Traffic) parseLine(n int, raw []byte, tooLong bool, max int) (*Request, *LineError) {
	if tooLong {
		return nil, &LineError{n, fmt.Sprintf("line longer than %d bytes", max)}
	}
	trimmed := bytes.TrimSpace(raw)
	if n == 1 {
		trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf")) // UTF-8 byte-order mark
	}
	if len(trimmed) == 0 {
		return nil, nil
	}
	if t.Format == FormatAuto {
		t.Format = FormatText
		if trimmed[0] == '{' {
			t.Format = FormatJSONL
		}
	}
	if t.Format == FormatText {
		if !utf8.Valid(raw) {
			return nil, &LineError{n, "not valid UTF-8"}
		}
		p := strings.TrimSpace(string(raw))
		if n == 1 {
			p = strings.TrimPrefix(p, "\ufeff")
		}
		if err := plan.CheckPrompt(p); err != nil {
			return nil, &LineError{n, "prompt: " + err.Error()}
		}
		return &Request{Line: n, Prompt: p}, nil
	}
	return parseJSON(n, trimmed)
}

func parseJSON(n int, b []byte) (*Request, *LineError) {
	if b[0] != '{' {
		return nil, &LineError{n, "not a JSON object (the file is JSONL: one object per line)"}
	}
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&rec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, &LineError{n, fmt.Sprintf("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)}
		}
		return nil, &LineError{n, "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &LineError{n, "more than one JSON value on the line"}
	}
	if rec.Prompt == nil {
		return nil, &LineError{n, `missing field "prompt"`}
	}
	if err := plan.CheckPrompt(*rec.Prompt); err != nil {
		return nil, &LineError{n, "prompt: " + err.Error()}
	}
	req := &Request{Line: n, Prompt: *rec.Prompt, Model: strings.TrimSpace(rec.Model), System: rec.System, User: rec.User}
	if rec.CompletionTokens != nil {
		c := *rec.CompletionTokens
		if c < 0 || c > MaxCompletionTokens {
			return nil, &LineError{n, fmt.Sprintf("completion_tokens: %d is outside 0..%d", c, MaxCompletionTokens)}
		}
		req.CompletionTokens = c
	}
	if rec.Time != "" {
		tm, err := time.Parse(time.RFC3339Nano, rec.Time)
		if err != nil {
			return nil, &LineError{n, fmt.Sprintf("time: %q is not RFC 3339 (2006-01-02T15:04:05Z)", rec.Time)}
		}
		req.Time = tm
	}
	return req, nil
}
