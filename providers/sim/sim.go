// Package sim is penny's simulated chat provider, the default when no API
// key is configured: deterministic canned answers by category, usage
// counted with penny's tokenizers, configurable latency and streaming, and
// fault injection for tests and demos. Every response says Simulated.
//
// Faults can be forced from the prompt with a marker (removed before the
// answer is chosen), which is how demos and tests trigger them:
//
//	[[sim:rate_limit]]    429, llm.ErrRateLimited, RetryAfter 1s
//	[[sim:server_error]]  500, llm.ErrServer
//	[[sim:timeout]]       blocks for Config.Hang (or until ctx ends), then llm.ErrTimeout
//	[[sim:bad_response]]  llm.ErrBadResponse
//	[[sim:auth]]          401, llm.ErrAuth
package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/tokens"
	fixtures "github.com/pennyllm/penny/fixtures/sim"
)

// Name is the provider name the simulator reports.
const Name = "sim"

// Faults the simulator can inject.
const (
	FaultRateLimit   = "rate_limit"
	FaultServerError = "server_error"
	FaultTimeout     = "timeout"
	FaultBadResponse = "bad_response"
	FaultAuth        = "auth"
)

var faults = []string{FaultRateLimit, FaultServerError, FaultTimeout, FaultBadResponse, FaultAuth}

// Config is penny.toml [providers.sim]. The zero value answers at once.
type Config struct {
	Latency    time.Duration `toml:"latency"`     // before the answer (or its first chunk)
	ChunkDelay time.Duration `toml:"chunk_delay"` // between streamed chunks
	ChunkWords int           `toml:"chunk_words"` // words per streamed chunk; 0 = 3
	// Fault makes a share of requests fail: "rate_limit", "server_error",
	// "timeout", "bad_response" or "auth". Which requests fail is decided by
	// a hash of the request, so the same request always fails or succeeds.
	Fault     string        `toml:"fault"`
	FaultRate float64       `toml:"fault_rate"` // share of requests, 0..1; 0 with a Fault set means 1 (all)
	Hang      time.Duration `toml:"hang"`       // how long a simulated timeout blocks; 0 = 2s
}

// Validate names the offending field.
func (c Config) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"latency", c.Latency}, {"chunk_delay", c.ChunkDelay}, {"hang", c.Hang}} {
		if d.v < 0 {
			return fmt.Errorf("sim: %s: must not be negative (%s)", d.name, d.v)
		}
	}
	if c.ChunkWords < 0 {
		return fmt.Errorf("sim: chunk_words: must not be negative (%d)", c.ChunkWords)
	}
	if c.Fault != "" && !isFault(c.Fault) {
		return fmt.Errorf("sim: fault: %q is not one of %s", c.Fault, strings.Join(faults, ", "))
	}
	if c.FaultRate < 0 || c.FaultRate > 1 {
		return fmt.Errorf("sim: fault_rate: %g is outside 0..1", c.FaultRate)
	}
	return nil
}

func isFault(s string) bool {
	for _, f := range faults {
		if s == f {
			return true
		}
	}
	return false
}

// Provider is the simulator. It holds no mutable state, so it is safe for
// concurrent use and every answer depends only on the request.
type Provider struct {
	cfg  Config
	toks *tokens.Registry
	set  fixtures.Set
	cats []category
}

type category struct {
	name    string
	words   map[string]bool // single-word keywords
	prefix  []string        // keywords ending in '*'
	phrases []string        // multi-word keywords, normalized, space-padded
	answers []string
}

// New builds a simulator answering from the embedded fixtures.
func New(cfg Config, toks *tokens.Registry) (*Provider, error) {
	set, err := fixtures.Load()
	if err != nil {
		return nil, err
	}
	return NewWithAnswers(cfg, toks, set)
}

// NewWithAnswers builds a simulator answering from set.
func NewWithAnswers(cfg Config, toks *tokens.Registry, set fixtures.Set) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if toks == nil {
		return nil, fmt.Errorf("sim: nil token registry")
	}
	if cfg.ChunkWords == 0 {
		cfg.ChunkWords = 3
	}
	if cfg.Hang == 0 {
		cfg.Hang = 2 * time.Second
	}
	if cfg.Fault != "" && cfg.FaultRate == 0 {
		cfg.FaultRate = 1
	}
	p := &Provider{cfg: cfg, toks: toks, set: set}
	for _, c := range set.Categories {
		cat := category{name: c.Name, words: map[string]bool{}, answers: c.Answers}
		for _, kw := range c.Keywords {
			kw = strings.ToLower(strings.TrimSpace(kw))
			if pre, ok := strings.CutSuffix(kw, "*"); ok {
				cat.prefix = append(cat.prefix, pre)
				continue
			}
			ws := words(kw)
			switch len(ws) {
			case 0:
			case 1:
				cat.words[ws[0]] = true
			default:
				cat.phrases = append(cat.phrases, " "+strings.Join(ws, " ")+" ")
			}
		}
		p.cats = append(p.cats, cat)
	}
	return p, nil
}

// Name returns "sim".
func (p *Provider) Name() string { return Name }

var markerRe = regexp.MustCompile(`\[\[sim:([a-z_]+)\]\]`)

// Chat answers deterministically: the same request gives the same text,
// usage and fault. Latency and chunk delays honour ctx.
func (p *Provider) Chat(ctx context.Context, req llm.Request, onDelta func(string)) (llm.Response, error) {
	if len(req.Messages) == 0 {
		return llm.Response{}, &llm.Error{Kind: llm.ErrBadRequest, Provider: Name, Detail: "no messages"}
	}
	prompt := req.Messages[len(req.Messages)-1].Content
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			prompt = req.Messages[i].Content
			break
		}
	}
	fault := ""
	if m := markerRe.FindStringSubmatch(prompt); m != nil && isFault(m[1]) {
		fault = m[1]
	} else if p.cfg.Fault != "" && unit(hashRequest(req, "fault")) < p.cfg.FaultRate {
		fault = p.cfg.Fault
	}
	clean := strings.TrimSpace(markerRe.ReplaceAllString(prompt, " "))
	if fault != "" {
		return llm.Response{}, p.fail(ctx, fault)
	}

	counter := p.toks.ForModel(req.Model)
	text, finish := p.Answer(req.Model, clean), "stop"
	n := counter.Count(text).Tokens
	if req.MaxTokens > 0 && n > req.MaxTokens {
		text, finish = truncate(text, counter, req.MaxTokens), "length"
		n = counter.Count(text).Tokens
	}
	resp := llm.Response{
		Text: text, Model: req.Model, Provider: Name, Simulated: true, FinishReason: finish,
		// The simulator is the provider, so its count is its report.
		UsageKnown: true,
		Usage:      llm.Usage{PromptTokens: llm.PromptTokens(counter, req.Messages), CompletionTokens: n},
	}
	if err := sleep(ctx, p.cfg.Latency); err != nil {
		return llm.Response{}, fmt.Errorf("simulated request canceled: %w", err)
	}
	if onDelta != nil {
		for i, chunk := range chunks(text, p.cfg.ChunkWords) {
			if i > 0 {
				if err := sleep(ctx, p.cfg.ChunkDelay); err != nil {
					return llm.Response{}, fmt.Errorf("simulated request canceled: %w", err)
				}
			}
			onDelta(chunk)
		}
	}
	return resp, nil
}

func (p *Provider) fail(ctx context.Context, fault string) error {
	e := &llm.Error{Provider: Name, Attempts: 1, Detail: "simulated fault"}
	switch fault {
	case FaultRateLimit:
		e.Kind, e.Status, e.RetryAfter = llm.ErrRateLimited, 429, time.Second
	case FaultServerError:
		e.Kind, e.Status = llm.ErrServer, 500
	case FaultBadResponse:
		e.Kind = llm.ErrBadResponse
	case FaultAuth:
		e.Kind, e.Status = llm.ErrAuth, 401
	case FaultTimeout:
		if err := sleep(ctx, p.cfg.Hang); err != nil {
			return fmt.Errorf("simulated request canceled: %w", err)
		}
		e.Kind, e.Detail = llm.ErrTimeout, fmt.Sprintf("simulated fault: no response within %s", p.cfg.Hang)
	}
	return e
}

// Answer is the text the simulator gives for a prompt (markers already
// removed) to a model: a fixture of the best-matching category, else the
// template, with {topic} filled in.
func (p *Provider) Answer(model, prompt string) string {
	cat := p.Categorize(prompt)
	tmpl := p.set.Template
	var skip map[string]bool
	for _, c := range p.cats {
		if c.name == cat {
			h := fnv.New64a()
			h.Write([]byte(model + "\x00" + prompt))
			tmpl = c.answers[h.Sum64()%uint64(len(c.answers))]
			skip = c.words
		}
	}
	return strings.ReplaceAll(tmpl, "{topic}", topic(prompt, skip))
}

// Categorize returns the name of the category whose keywords the prompt
// hits most (first listed wins ties), or "" for none.
func (p *Provider) Categorize(prompt string) string {
	ws := words(prompt)
	padded := " " + strings.Join(ws, " ") + " "
	best, bestScore := "", 0
	for _, c := range p.cats {
		score := 0
		for _, w := range ws {
			if c.words[w] {
				score++
				continue
			}
			for _, pre := range c.prefix {
				if strings.HasPrefix(w, pre) {
					score++
					break
				}
			}
		}
		for _, ph := range c.phrases {
			score += strings.Count(padded, ph)
		}
		if score > bestScore {
			best, bestScore = c.name, score
		}
	}
	return best
}

// words lower-cases and splits on anything that is not a letter or digit.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// stopwords is a read-only lookup table built once.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if then of to in on at by for with about from into over
		is are was were be been being am do does did have has had can could would should will shall may might must
		i me my you your we our they them their he she it its this that these those what which who whom whose how
		why when where please tell give show explain write make let lets some any all not no yes so very just
		there here than too also as up out get got need want like use using one two`) {
		m[w] = true
	}
	return m
}()

// topic picks up to four content words of the prompt, in order, keeping
// their original spelling, skipping stop words and the category's own
// keywords (a "summarise X" prompt is about X, not about summarising).
func topic(prompt string, skip map[string]bool) string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(prompt, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }) {
		w = strings.Trim(w, "-")
		lw := strings.ToLower(w)
		if len(lw) < 3 || stopwords[lw] || skip[lw] || seen[lw] {
			continue
		}
		seen[lw] = true
		out = append(out, w)
		if len(out) == 4 {
			break
		}
	}
	if len(out) == 0 {
		return "your question"
	}
	return strings.Join(out, " ")
}

// chunks splits text into pieces of n words; the pieces concatenate back to
// text exactly (whitespace stays attached to the word after it).
func chunks(text string, n int) []string {
	var out []string
	start, count, inWord := 0, 0, false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if !space && !inWord {
			if count == n {
				out = append(out, text[start:i])
				start, count = i, 0
			}
			count++
		}
		inWord = !space
	}
	if start < len(text) {
		// Trailing whitespace joins the last chunk; leading whitespace
		// belongs to the first, so nothing is lost.
		out = append(out, text[start:])
	}
	return out
}

// truncate cuts text at a word boundary so it counts at most max tokens,
// as a server does when max_tokens is reached.
func truncate(text string, c tokens.Counter, max int) string {
	idx := []int{}
	inWord := false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && inWord {
			idx = append(idx, i)
		}
		inWord = !space
	}
	idx = append(idx, len(text))
	lo, hi := 0, len(idx) // largest k with count(text[:idx[k-1]]) <= max
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if c.Count(text[:idx[mid-1]]).Tokens <= max {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return text[:idx[lo-1]]
}

func hashRequest(req llm.Request, salt string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%g", salt, req.Model, req.MaxTokens, req.Temperature)
	for _, m := range req.Messages {
		fmt.Fprintf(h, "\x00%s\x00%s", m.Role, m.Content)
	}
	return h.Sum64()
}

// unit maps a hash to [0, 1). FNV's high bits barely change between
// prompts that differ only at the end ("question 1", "question 2"), so the
// hash goes through splitmix64's finalizer first.
func unit(h uint64) float64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
