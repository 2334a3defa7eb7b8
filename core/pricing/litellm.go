package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Reasons an entry of a LiteLLM price map is not imported. Entries of a
// mode other than chat and responses are counted under "mode=<mode>".
const (
	SkipSampleSpec   = "sample_spec"   // LiteLLM's documentation entry
	SkipNotObject    = "not_an_object" // e.g. the top-level "last_updated" string
	SkipOddID        = "odd_id"        // empty, overlong or control characters
	SkipNoMode       = "no_mode"       // pricing tiers such as "fireworks-ai-up-to-4b"
	SkipBadMode      = "bad_mode"      // mode is not a string
	SkipNoPrices     = "no_prices"     // input or output price missing or null
	SkipZeroPrices   = "zero_prices"   // both prices 0: LiteLLM's "unknown", never a free model to route to
	SkipInvalidPrice = "invalid_price" // a price that is not a non-negative number in range
	SkipDuplicate    = "duplicate"     // the same key again; the last one wins
)

// Import is the result of reading a LiteLLM price map.
type Import struct {
	Source  string         `json:"source"`
	Date    string         `json:"date,omitempty"` // from the map's "last_updated", when present
	Entries int            `json:"entries"`        // top-level keys read
	Models  []Model        `json:"models"`         // sorted by id
	Skipped map[string]int `json:"skipped"`        // reason -> entries not imported
	// Ignored counts fields of imported entries that were unusable (a string
	// where a number belongs, a fractional token limit); the entry is kept
	// without them.
	Ignored map[string]int `json:"ignored,omitempty"`
	// Rounded counts prices finer than $0.000001 per 1M tokens, rounded to
	// the nearest micro-dollar (LiteLLM has a few, e.g. 9.999990000000002e-06).
	Rounded int `json:"rounded,omitempty"`
}

// SkippedTotal is the number of entries not imported.
func (im Import) SkippedTotal() int {
	n := 0
	for _, c := range im.Skipped {
		n += c
	}
	return n
}

// WriteSummary prints what an import did, for `penny prices import`:
// the models imported and every skip reason with its count, largest first.
func (im Import) WriteSummary(w io.Writer) error {
	date := im.Date
	if date == "" {
		date = "undated"
	}
	if _, err := fmt.Fprintf(w, "imported %d chat models from %s (%s); skipped %d of %d entries\n",
		len(im.Models), im.Source, date, im.SkippedTotal(), im.Entries); err != nil {
		return fmt.Errorf("import summary: %w", err)
	}
	reasons := make([]string, 0, len(im.Skipped))
	for r := range im.Skipped {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := im.Skipped[reasons[i]], im.Skipped[reasons[j]]
		return a > b || a == b && reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		if _, err := fmt.Fprintf(w, "  %6d  %s\n", im.Skipped[r], r); err != nil {
			return fmt.Errorf("import summary: %w", err)
		}
	}
	if im.Rounded > 0 {
		if _, err := fmt.Fprintf(w, "%d prices finer than $0.000001 per 1M tokens were rounded\n", im.Rounded); err != nil {
			return fmt.Errorf("import summary: %w", err)
		}
	}
	return nil
}

// maxIDLen bounds model ids taken from a file; LiteLLM's longest is under 120.
const maxIDLen = 200

// ImportLiteLLM reads LiteLLM's model_prices_and_context_window.json format:
// one object whose keys are model ids and whose values hold per-token USD
// prices. Chat models (and "responses" models, which are chat models served
// only by OpenAI's Responses API) are imported; everything else is counted
// in Skipped by reason. Malformed entries never fail the import; only input
// that is not a JSON object at all does.
//
// Field mapping: input_cost_per_token → Input, output_cost_per_token →
// Output, cache_read_input_token_cost → CachedInput,
// cache_creation_input_token_cost → CacheWrite, *_batches → Batch*,
// max_input_tokens → MaxInput and ContextWindow (LiteLLM has no total
// context figure), max_output_tokens (or the legacy max_tokens) → MaxOutput,
// supports_vision / supports_function_calling / supports_response_schema →
// Vision / Tools / JSONMode. Tiered "above_Nk_tokens" prices are not
// modelled; the entry's Note says the base prices hold below the tier.
func ImportLiteLLM(r io.Reader, source string) (Import, error) {
	im := Import{Source: source, Skipped: map[string]int{}, Ignored: map[string]int{}}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return im, fmt.Errorf("litellm %s: %w", source, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return im, fmt.Errorf("litellm %s: top level is not a JSON object", source)
	}
	byID := map[string]Model{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return im, fmt.Errorf("litellm %s: entry %d: %w", source, im.Entries+1, err)
		}
		key, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return im, fmt.Errorf("litellm %s: entry %q: %w", source, key, err)
		}
		im.Entries++
		if key == "last_updated" {
			im.Date = dateOf(raw)
		}
		m, reason := im.entry(key, raw)
		if reason != "" {
			im.Skipped[reason]++
			continue
		}
		if _, dup := byID[m.ID]; dup {
			im.Skipped[SkipDuplicate]++
		}
		byID[m.ID] = m
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return im, fmt.Errorf("litellm %s: %w", source, err)
	}
	for _, m := range byID {
		m.Checked = im.Date
		m.Source = source
		im.Models = append(im.Models, m)
	}
	sort.Slice(im.Models, func(i, j int) bool { return im.Models[i].ID < im.Models[j].ID })
	if len(im.Ignored) == 0 {
		im.Ignored = nil
	}
	return im, nil
}

// dateOf extracts YYYY-MM-DD from a "last_updated" timestamp string.
func dateOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil || len(s) < 10 {
		return ""
	}
	if !dateRe.MatchString(s[:10]) {
		return ""
	}
	return s[:10]
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// entry converts one map entry, or returns why it is skipped.
func (im *Import) entry(key string, raw json.RawMessage) (Model, string) {
	if key == "sample_spec" {
		return Model{}, SkipSampleSpec
	}
	if !validID(key) {
		return Model{}, SkipOddID
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return Model{}, SkipNotObject
	}
	modeRaw, ok := f["mode"]
	if !ok || isNull(modeRaw) {
		return Model{}, SkipNoMode
	}
	var mode string
	if json.Unmarshal(modeRaw, &mode) != nil {
		return Model{}, SkipBadMode
	}
	switch mode {
	case "chat":
		mode = ""
	case "responses":
	default:
		return Model{}, "mode=" + sanitizeReason(mode)
	}

	m := Model{ID: key, Mode: mode}
	if s, ok := stringField(f, "litellm_provider"); ok {
		m.Provider = s
	}
	in, inOK, err1 := im.price(f, "input_cost_per_token")
	out, outOK, err2 := im.price(f, "output_cost_per_token")
	if err1 != nil || err2 != nil {
		return Model{}, SkipInvalidPrice
	}
	if !inOK || !outOK {
		return Model{}, SkipNoPrices
	}
	if in == 0 && out == 0 {
		return Model{}, SkipZeroPrices
	}
	m.Input, m.Output = in, out
	for _, opt := range []struct {
		field string
		dst   *PerMillion
	}{
		{"cache_read_input_token_cost", &m.CachedInput},
		{"cache_creation_input_token_cost", &m.CacheWrite},
		{"input_cost_per_token_batches", &m.BatchInput},
		{"output_cost_per_token_batches", &m.BatchOutput},
	} {
		p, ok, err := im.price(f, opt.field)
		if err != nil {
			return Model{}, SkipInvalidPrice
		}
		if ok {
			*opt.dst = p
		}
	}

	maxIn, hasIn := im.tokenLimit(f, "max_input_tokens")
	maxOut, hasOut := im.tokenLimit(f, "max_output_tokens")
	legacy, hasLegacy := im.tokenLimit(f, "max_tokens")
	// LiteLLM's legacy max_tokens is the output limit when the provider
	// gives one, else the input limit; use it only to fill a gap.
	switch {
	case hasLegacy && hasIn && !hasOut:
		maxOut, hasOut = legacy, true
	case hasLegacy && !hasIn && !hasOut:
		maxIn, hasIn = legacy, true
	}
	if hasIn {
		m.MaxInput, m.ContextWindow = maxIn, maxIn
	}
	if hasOut {
		m.MaxOutput = maxOut
	}
	m.Vision = im.flag(f, "supports_vision")
	m.Tools = im.flag(f, "supports_function_calling")
	m.JSONMode = im.flag(f, "supports_response_schema")
	m.Note = tierNote(f)
	return m, ""
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen || strings.TrimSpace(id) != id {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// sanitizeReason keeps a file-supplied mode printable and short, since it
// becomes a key in the skip counts the CLI prints.
func sanitizeReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return '_'
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	if s == "" {
		s = "_"
	}
	return s
}

func isNull(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }

func stringField(f map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := f[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s), true
}

// number reads a JSON number, or a string holding one (some hand-edited
// maps quote numbers). ok is false for absent and null fields.
func number(raw json.RawMessage) (f float64, ok bool, err error) {
	if isNull(raw) {
		return 0, false, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false, errors.New("not a number")
		}
		n = json.Number(strings.TrimSpace(s))
	}
	f, err = strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0, false, errors.New("not a number")
	}
	return f, true, nil
}

// price reads a per-token USD price. ok is false when the field is absent
// or null; err is set when it is present but unusable.
func (im *Import) price(f map[string]json.RawMessage, name string) (PerMillion, bool, error) {
	raw, present := f[name]
	if !present {
		return 0, false, nil
	}
	v, ok, err := number(raw)
	if err != nil || !ok {
		return 0, false, err
	}
	p, exact, err := fromFloat(v, scalePerToken)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", name, err)
	}
	if !exact {
		im.Rounded++
	}
	return p, true, nil
}

// maxTokenLimit bounds token limits read from a file; the largest real
// context window is a few million tokens.
const maxTokenLimit = 1 << 31

func (im *Import) tokenLimit(f map[string]json.RawMessage, name string) (int, bool) {
	raw, present := f[name]
	if !present || isNull(raw) {
		return 0, false
	}
	v, ok, err := number(raw)
	if err != nil || !ok || v <= 0 || v != float64(int64(v)) || v > maxTokenLimit {
		im.Ignored[name]++
		return 0, false
	}
	return int(v), true
}

func (im *Import) flag(f map[string]json.RawMessage, name string) bool {
	raw, present := f[name]
	if !present || isNull(raw) {
		return false
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		im.Ignored[name]++
		return false
	}
	return b
}

var tierRe = regexp.MustCompile(`^input_cost_per_token_above_(\d+)k_tokens$`)

// tierNote names the lowest prompt-length tier above which LiteLLM lists
// higher prices (Gemini 2.5 Pro: 200K), since penny bills the base tier.
func tierNote(f map[string]json.RawMessage) string {
	var tiers []int
	for k := range f {
		if m := tierRe.FindStringSubmatch(k); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil {
				tiers = append(tiers, n)
			}
		}
	}
	if len(tiers) == 0 {
		return ""
	}
	return fmt.Sprintf("prompts ≤%dK tokens; higher prices above", slices.Min(tiers))
}
