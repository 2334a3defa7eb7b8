// Package send executes a Plan: the cached answer on a hit, otherwise a
// budget hold, the call to the routed model, settlement with the actual
// cost, a cache fill and a ledger record — so every send leaves projected
// and actual cost side by side.
package send

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pennyllm/penny/core/batch"
	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/cost"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/llm"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/tokens"
)

// Providers resolves the provider that serves a model.
type Providers interface {
	Provider(model string) (llm.Provider, error)
}

// ProviderFunc adapts a function (e.g. a registry method) to Providers.
type ProviderFunc func(model string) (llm.Provider, error)

// Provider implements Providers.
func (f ProviderFunc) Provider(model string) (llm.Provider, error) { return f(model) }

// CacheFiller is what sending needs from the cache: Serve re-checks the
// hit found at planning time (the entry may have expired or gone since)
// and counts it; Put stores a fresh response.
type CacheFiller interface {
	Serve(ctx context.Context, req cache.Request, planned cache.Result) (cache.Result, error)
	// Put stores a response; meta says what producing it cost, which is
	// what each later hit saves.
	Put(ctx context.Context, req cache.Request, response string, meta cache.Meta) error
}

// Budget holds and settles spend; *budget.Service implements it.
type Budget interface {
	Reserve(ctx context.Context, amount money.Nanos) (budget.Hold, error)
	Settle(ctx context.Context, h budget.Hold, actual money.Nanos) ([]budget.Alert, error)
	Release(ctx context.Context, h budget.Hold) error
}

// Config is the [send] section of penny.toml.
type Config struct {
	// MaxCompletionTokens caps a reply when neither the request (max_tokens
	// in the cache scope) nor the catalog (max_output) gives a cap. The cap
	// is sent with every request, so the budget hold is a true maximum.
	MaxCompletionTokens int `toml:"max_completion_tokens"`
}

// DefaultConfig caps replies at 4096 tokens when nothing else does.
func DefaultConfig() Config { return Config{MaxCompletionTokens: 4096} }

// Validate checks the fields; errors name them ("send.max_completion_tokens").
func (c Config) Validate() error {
	if c.MaxCompletionTokens < 1 || c.MaxCompletionTokens > 1_000_000 {
		return fmt.Errorf("send.max_completion_tokens: must be between 1 and 1000000, got %d", c.MaxCompletionTokens)
	}
	return nil
}

// Call is one model call as the batcher sees it.
type Call struct {
	Provider llm.Provider
	Request  llm.Request
	OnDelta  func(string)
}

// NewBatcher returns a batcher that runs Calls one chat request each, with
// cfg.Concurrency calls in flight at most. Close it on shutdown.
func NewBatcher(ctx context.Context, cfg batch.Config) (*batch.Batcher[Call, llm.Response], error) {
	return batch.NewEach(ctx, cfg, func(ctx context.Context, c Call) (llm.Response, error) {
		return c.Provider.Chat(ctx, c.Request, c.OnDelta)
	})
}

// Deps are the Sender's collaborators.
type Deps struct {
	Catalog   *pricing.Catalog                   // required
	Tokens    *tokens.Registry                   // required: the hold's prompt count and usage when a provider reports none
	Providers Providers                          // required
	Ledger    ledger.Store                       // required: every send is recorded
	Cache     CacheFiller                        // optional: without it, hits use the planned response and misses fill nothing
	Budget    Budget                             // optional: without it, nothing is held or capped
	Batcher   *batch.Batcher[Call, llm.Response] // optional: calls go through it when set
	Clock     func() time.Time                   // optional: time.Now
	// Summarizer makes the summaries plans project (compress.PendingSummary).
	// Optional: without it such a plan is sent without its summary, and
	// the Outcome says so.
	Summarizer compress.Summarizer
}

// Sender executes plans. Safe for concurrent use.
type Sender struct {
	cfg Config
	d   Deps
	fp  fingerprints
}

// fingerprints memoizes Fingerprint: a replay sends thousands of requests
// under a handful of scopes, and marshalling and hashing each one showed
// in its profile. Bounded: cleared when it reaches maxFingerprints.
type fingerprints struct {
	mu sync.Mutex
	m  map[cache.Scope]string
}

const maxFingerprints = 256

func (f *fingerprints) get(s cache.Scope) string {
	f.mu.Lock()
	fp, ok := f.m[s]
	f.mu.Unlock()
	if ok {
		return fp
	}
	fp = Fingerprint(s)
	f.mu.Lock()
	if f.m == nil || len(f.m) >= maxFingerprints {
		f.m = make(map[cache.Scope]string)
	}
	f.m[s] = fp
	f.mu.Unlock()
	return fp
}

// New checks cfg and deps.
func New(cfg Config, d Deps) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case d.Catalog == nil:
		return nil, errors.New("send: Deps.Catalog is required")
	case d.Tokens == nil:
		return nil, errors.New("send: Deps.Tokens is required")
	case d.Providers == nil:
		return nil, errors.New("send: Deps.Providers is required")
	case d.Ledger == nil:
		return nil, errors.New("send: Deps.Ledger is required")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	return &Sender{cfg: cfg, d: d}, nil
}

// Options are per-send settings.
type Options struct {
	// Scope must be the scope the plan was made with; its System,
	// Temperature and MaxTokens shape the request, and the cache is read
	// and filled under it (with Model set to the routed model).
	Scope cache.Scope
	User  string
	Tag   string // ledger tag: "cli", "tui", "replay", …
}

// ErrNotRecorded marks a send whose answer is valid but whose bookkeeping
// (budget settlement or ledger write) failed; Send returns the Outcome too.
var ErrNotRecorded = errors.New("send succeeded but was not fully recorded")

// Response is the answer part of an Outcome.
type Response struct {
	Text         string `json:"text"`
	Model        string `json:"model,omitempty"`    // as reported by the provider
	Provider     string `json:"provider,omitempty"` // empty on a cache hit
	FinishReason string `json:"finish_reason,omitempty"`
}

// Usage is what the call really used.
type Usage struct {
	PromptTokens       int64 `json:"prompt_tokens"`
	CompletionTokens   int64 `json:"completion_tokens"`
	CachedPromptTokens int64 `json:"cached_prompt_tokens"`
	Reported           bool  `json:"reported"` // false when counted locally (the provider sent no usage)
}

// Projected is what the plan expected, and the maximum held.
type Projected struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`     // the assumed completion length
	MaxCompletionTokens int64 `json:"max_completion_tokens"` // the cap sent and held for
}

// Cost compares projection and reality. USD fields are for display; the
// nanos are exact.
type Cost struct {
	ProjectedUSD   float64     `json:"projected_usd"`
	ActualUSD      float64     `json:"actual_usd"`
	BaselineUSD    float64     `json:"baseline_usd"`
	SavingsUSD     float64     `json:"savings_usd"`
	ReservedUSD    float64     `json:"reserved_usd"`
	ErrorUSD       float64     `json:"projection_error_usd"` // actual - projected
	ProjectedNanos money.Nanos `json:"projected_nanos"`
	ActualNanos    money.Nanos `json:"actual_nanos"`
	BaselineNanos  money.Nanos `json:"baseline_nanos"`
	ReservedNanos  money.Nanos `json:"reserved_nanos"`
}

// CacheInfo says how the cache took part.
type CacheInfo struct {
	Outcome cache.Outcome `json:"outcome"`
	Reason  cache.Reason  `json:"reason,omitempty"`
	EntryID int64         `json:"entry_id,omitempty"`
	Filled  bool          `json:"filled"` // the response was stored for next time
}

// RouteInfo is the model that answered (or would have).
type RouteInfo struct {
	Model string `json:"model"`
	Tier  string `json:"tier,omitempty"`
}

// Outcome is the result of one send (`penny send --json`).
type Outcome struct {
	Response  Response       `json:"response"`
	Usage     Usage          `json:"usage"`
	Projected Projected      `json:"projected"`
	Cost      Cost           `json:"cost"`
	Cache     CacheInfo      `json:"cache"`
	Route     RouteInfo      `json:"route"`
	LatencyMS int64          `json:"latency_ms"`
	Simulated bool           `json:"simulated"`
	Batched   bool           `json:"batched"`
	Alerts    []budget.Alert `json:"alerts,omitempty"`
	LedgerID  int64          `json:"ledger_id"`
	Warnings  []string       `json:"warnings,omitempty"`
	// Summary is the summarizer call made before the routed one, when the
	// plan projected a summary; nil otherwise.
	Summary *SummaryInfo `json:"summary,omitempty"`
}

// TagSummarize tags the ledger record of a summarizer call. A summary is a
// model call of its own — its model, tokens, cost and budget hold — so it
// gets its own record: baseline 0, its cost charged to compression
// (Saved.Compression = −cost), which keeps the savings by strategy honest.
const TagSummarize = ledger.TagSummarize

// SummaryInfo is what the summarizer call did. Its cost is in the
// Outcome's Cost (projected and actual) and in its own ledger record.
type SummaryInfo struct {
	Model            string      `json:"model"`
	Provider         string      `json:"provider,omitempty"`
	PromptTokens     int64       `json:"prompt_tokens"`
	CompletionTokens int64       `json:"completion_tokens"`
	ProjectedNanos   money.Nanos `json:"projected_nanos"`
	ActualNanos      money.Nanos `json:"actual_nanos"`
	LedgerID         int64       `json:"ledger_id,omitempty"`
	Simulated        bool        `json:"simulated"`
	// Applied: the summary replaced its region in the prompt sent. When
	// false, Error says why and the prompt went without it (nothing lost).
	Applied bool   `json:"applied"`
	Error   string `json:"error,omitempty"`
	// TokensSaved is the region's tokens minus the summary's, in the routed
	// model's tokenizer, when applied.
	TokensSaved int `json:"tokens_saved"`
	// KeptVerbatim are protected units the summary lost, appended verbatim.
	KeptVerbatim []string `json:"kept_verbatim,omitempty"`
}

// bookkeepingTimeout bounds ledger and budget writes made after the caller's
// context may already have ended.
const bookkeepingTimeout = 10 * time.Second

// Send executes pl. On a cache hit it returns the cached response at zero
// model cost without calling anything (onDelta receives the whole text
// once). Otherwise it holds the call's maximum cost, calls the routed model
// with the compressed prompt, settles with the actual cost, fills the cache
// and records the send.
//
// Failures are recorded too: a budget refusal (errors.Is
// budget.ErrBudgetExceeded; nothing was sent) and a failed call (the hold
// is released, actual cost 0 — providers do not bill failed requests, and a
// stream cut short reports no usage to bill by) each leave a ledger record
// with its status and error. Bookkeeping after a successful call uses a
// context detached from ctx, so a caller that gives up at the last moment
// still leaves the spend recorded.
func (s *Sender) Send(ctx context.Context, pl plan.Plan, opt Options, onDelta func(string)) (Outcome, error) {
	start := s.d.Clock()
	scope := opt.Scope
	scope.Model = pl.Route.Model
	creq := cache.Request{Prompt: pl.Prompt, Scope: scope}
	rec := ledger.Record{
		Time: start.UTC(), User: opt.User, Tag: opt.Tag,
		BaselineModel: pl.Cost.BaselineModel, Model: pl.Route.Model, Tier: pl.Route.Tier,
		CacheOutcome: string(pl.Cache.Outcome), Scope: s.fp.get(scope),
		BaselineNanos: money.Nanos(pl.Cost.BaselineNanos), Status: ledger.StatusOK,
	}
	out := Outcome{
		Cache: CacheInfo{Outcome: pl.Cache.Outcome, Reason: pl.Cache.Reason, EntryID: pl.Cache.EntryID},
		Route: RouteInfo{Model: pl.Route.Model, Tier: pl.Route.Tier},
	}
	out.Cost.BaselineNanos = rec.BaselineNanos

	if hit(pl.Cache.Outcome) {
		text, served, entry, res := pl.Cache.Response, true, pl.Cache.EntryID, pl.Cache
		if s.d.Cache != nil {
			r, err := s.d.Cache.Serve(ctx, creq, pl.Cache)
			switch {
			case err != nil:
				// The planned hit is still a valid answer; say why it was not re-checked.
				out.Warnings = append(out.Warnings, "cache serve failed, answered from the planned hit: "+err.Error())
			case hit(r.Outcome):
				text, entry, res = r.Response, r.EntryID, r
			default:
				served, res = false, r // expired or evicted since planning: call the model
			}
		}
		if served {
			out.Response = Response{Text: text}
			out.Cache = CacheInfo{Outcome: res.Outcome, EntryID: entry}
			rec.CacheOutcome, rec.CacheEntryID = string(res.Outcome), entry
			// What the baseline would have cost for this very answer: the
			// cached text's length stands in for the completion.
			if b, ok := s.baseline(pl, scope, text, 0); ok {
				rec.BaselineNanos, out.Cost.BaselineNanos = b, b
			}
			rec.Saved = ledger.Saved{Cache: rec.BaselineNanos}
			if onDelta != nil && text != "" {
				onDelta(text)
			}
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
			defer cancel()
			o, err := s.finish(bctx, &out, rec, start)
			if err != nil {
				return o, fmt.Errorf("%w: %v", ErrNotRecorded, err)
			}
			return o, nil
		}
		out.Cache = CacheInfo{Outcome: res.Outcome, Reason: res.Reason}
		rec.CacheOutcome = string(res.Outcome)
	}
	return s.call(ctx, pl, scope, creq, &out, rec, start, onDelta)
}

func hit(o cache.Outcome) bool { return o == cache.ExactHit || o == cache.SemanticHit }

// call is the miss path.
func (s *Sender) call(ctx context.Context, pl plan.Plan, scope cache.Scope, creq cache.Request, out *Outcome,
	rec ledger.Record, start time.Time, onDelta func(string)) (Outcome, error) {
	// Pre-flight failures are recorded like failed calls: the user asked
	// for a send and the ledger says why none happened.
	fail := func(err error) (Outcome, error) {
		rec.Status, rec.Error = ledger.StatusError, err.Error()
		s.recordFailure(ctx, out, rec, start)
		return *out, err
	}
	m, ok := s.d.Catalog.Lookup(pl.Route.Model)
	if !ok {
		return fail(fmt.Errorf("send: %w: routed model %q", plan.ErrUnknownModel, pl.Route.Model))
	}
	counter := s.d.Tokens.ForModel(m.ID)
	text := pl.Compression.Text
	if text == "" {
		text = pl.Prompt
	}
	var sumNanos money.Nanos // what the summary cost, spent whatever happens next
	if ps := pl.Compression.Summary; ps != nil {
		text = s.summarize(ctx, *ps, text, counter, rec, out)
		sumNanos = out.Summary.ActualNanos
	}
	req, hold, sent, err := s.request(m, counter, text, pl, scope)
	if err != nil {
		out.Cost.ActualNanos = sumNanos
		return fail(err)
	}
	projPrompt := int64(pl.Cost.OptimizedPromptTokens + pl.Input.OverheadTokens)
	rec.ProjectedPromptTokens, rec.ProjectedCompletionTokens = projPrompt, int64(pl.Cost.CompletionTokensAssumed)
	// A plan made on a hit priced the cache at zero; price the call it has
	// become so the projection stays comparable with the actual cost.
	rec.ProjectedNanos = money.Nanos(pl.Cost.OptimizedNanos)
	if hit(pl.Cache.Outcome) {
		rec.ProjectedNanos = cost.Request(m, cost.Usage{PromptTokens: projPrompt, CompletionTokens: rec.ProjectedCompletionTokens})
	}
	out.Projected = Projected{PromptTokens: projPrompt, CompletionTokens: rec.ProjectedCompletionTokens,
		MaxCompletionTokens: int64(req.MaxTokens)}
	// The Outcome's projection and actual cost cover the whole send, the
	// summary included; the ledger keeps the summarizer's part on its own
	// record, so this record's projection is the routed call's alone.
	out.Cost.ProjectedNanos = rec.ProjectedNanos
	out.Cost.ActualNanos = sumNanos
	if out.Summary != nil && !hit(pl.Cache.Outcome) {
		rec.ProjectedNanos -= out.Summary.ProjectedNanos
	} else if out.Summary != nil {
		out.Cost.ProjectedNanos += out.Summary.ProjectedNanos
	}

	prov, err := s.d.Providers.Provider(m.ID)
	if err != nil {
		return fail(fmt.Errorf("send: no provider for %s: %w", m.ID, err))
	}
	rec.Provider = prov.Name()

	// Record the call before making it: a ledger that cannot be written
	// (a database locked by another process) refuses the send while
	// nothing has been spent, instead of losing a paid call from the books.
	rec.Status = ledger.StatusPending
	id, err := s.d.Ledger.Append(ctx, rec)
	if err != nil {
		return *out, fmt.Errorf("send: cannot record the call, so nothing was sent: %w", err)
	}
	rec.ID, rec.Status = id, ledger.StatusOK

	h, err := s.reserve(ctx, hold, &rec)
	if err != nil {
		s.recordFailure(ctx, out, rec, start)
		return *out, fmt.Errorf("send: %w", err)
	}
	out.Cost.ReservedNanos = h.Amount

	var resp llm.Response
	if s.d.Batcher != nil {
		out.Batched = true
		resp, err = s.d.Batcher.Do(ctx, Call{Provider: prov, Request: req, OnDelta: onDelta})
	} else {
		resp, err = prov.Chat(ctx, req, onDelta)
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err != nil {
		if s.d.Budget != nil {
			if rerr := s.d.Budget.Release(bctx, h); rerr != nil {
				// The hold expires on its own; the budget is only briefly conservative.
				out.Warnings = append(out.Warnings, rerr.Error())
			}
		}
		rec.Status, rec.Error = ledger.StatusError, err.Error()
		s.recordFailure(ctx, out, rec, start)
		return *out, fmt.Errorf("send to %s via %s: %w", m.ID, rec.Provider, err)
	}

	u := s.usage(resp, req, counter)
	priced := m
	if rm, ok := s.d.Catalog.Lookup(resp.Model); ok && resp.Model != "" {
		priced = rm // the provider may answer with a dated or fallback model
	}
	actual := cost.Request(priced, cost.Usage{PromptTokens: u.PromptTokens, CachedPromptTokens: u.CachedPromptTokens,
		CompletionTokens: u.CompletionTokens})
	if resp.Provider != "" {
		rec.Provider = resp.Provider // the endpoint that answered, when the provider says
	}
	out.Response = Response{Text: resp.Text, Model: resp.Model, Provider: rec.Provider, FinishReason: resp.FinishReason}
	out.Usage = u
	out.Simulated = resp.Simulated
	out.Cost.ActualNanos = actual + sumNanos
	rec.ResponseModel, rec.Simulated = resp.Model, resp.Simulated
	rec.PromptTokens, rec.CompletionTokens, rec.CachedPromptTokens = u.PromptTokens, u.CompletionTokens, u.CachedPromptTokens
	rec.UsageKnown, rec.ActualNanos = u.Reported, actual
	s.attribute(&rec, pl, scope, priced, u, resp.Text, sent)
	out.Cost.BaselineNanos = rec.BaselineNanos

	var notRecorded []string
	if s.d.Budget != nil {
		alerts, err := s.d.Budget.Settle(bctx, h, actual)
		if err != nil {
			notRecorded = append(notRecorded, err.Error())
		}
		out.Alerts = alerts
	}
	if s.d.Cache != nil && out.Cache.Outcome == cache.Miss {
		switch {
		case resp.FinishReason == "length":
			out.Warnings = append(out.Warnings, "response cut at the token cap; not cached")
		case strings.TrimSpace(resp.Text) == "":
			out.Warnings = append(out.Warnings, "empty response; not cached")
		default:
			meta := cache.Meta{Model: priced.ID, PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), Cost: actual}
			if err := s.d.Cache.Put(bctx, creq, resp.Text, meta); err != nil {
				out.Warnings = append(out.Warnings, "cache fill failed: "+err.Error())
			} else {
				out.Cache.Filled = true
			}
		}
	}
	o, err := s.finish(bctx, out, rec, start)
	if err != nil {
		notRecorded = append(notRecorded, err.Error())
	}
	if len(notRecorded) > 0 {
		return o, fmt.Errorf("%w: %s", ErrNotRecorded, strings.Join(notRecorded, "; "))
	}
	return o, nil
}

// request builds the chat request and its maximum cost. The completion cap
// is always sent, so that the hold is a true upper bound. sent is text's
// count, which attribute needs too.
func (s *Sender) request(m pricing.Model, counter tokens.Counter, text string, pl plan.Plan, scope cache.Scope) (req llm.Request, hold money.Nanos, sent int, err error) {
	var msgs []llm.Message
	pc := counter.Count(text)
	promptTokens, exact := int64(pc.Tokens+pl.Input.OverheadTokens), pc.Exact
	if scope.System != "" {
		msgs = append(msgs, llm.Message{Role: "system", Content: scope.System})
		sc := counter.Count(scope.System)
		promptTokens += int64(sc.Tokens + systemFraming)
		exact = exact && sc.Exact
	}
	msgs = append(msgs, llm.Message{Role: "user", Content: text})
	if !exact {
		// Estimated counts (non-public tokenizers) carry no guarantee. A
		// quarter more keeps the hold an upper bound unless the estimate is
		// off by more than that; an overrun is still settled at its true cost.
		promptTokens += (promptTokens + 3) / 4
	}
	maxOut := int64(s.cfg.MaxCompletionTokens)
	switch {
	case scope.MaxTokens > 0:
		maxOut = int64(scope.MaxTokens)
	case m.MaxOutput > 0:
		maxOut = int64(m.MaxOutput)
	}
	if m.ContextWindow > 0 {
		room := int64(m.ContextWindow) - promptTokens
		if room < 1 {
			return llm.Request{}, 0, 0, fmt.Errorf("send: prompt of about %d tokens does not fit %s's %d-token context window",
				promptTokens, m.ID, m.ContextWindow)
		}
		maxOut = min(maxOut, room)
	}
	req = llm.Request{Model: m.ID, Messages: msgs, MaxTokens: int(maxOut), Temperature: scope.Temperature}
	return req, cost.Request(m, cost.Usage{PromptTokens: promptTokens, CompletionTokens: maxOut}), pc.Tokens, nil
}

// systemFraming is the per-message overhead of one more chat message.
const systemFraming = 4

// usage is the provider's usage, or a local count when it reported none.
func (s *Sender) usage(resp llm.Response, req llm.Request, counter tokens.Counter) Usage {
	u := Usage{PromptTokens: int64(resp.Usage.PromptTokens), CompletionTokens: int64(resp.Usage.CompletionTokens),
		CachedPromptTokens: int64(resp.Usage.CachedPromptTokens), Reported: resp.UsageKnown}
	if resp.UsageKnown || u.PromptTokens > 0 || u.CompletionTokens > 0 {
		return u
	}
	var p int64 = 6 // chat framing around the reply, as the planner counts it
	for i, msg := range req.Messages {
		p += int64(counter.Count(msg.Content).Tokens)
		if i > 0 {
			p += systemFraming
		}
	}
	u.PromptTokens = p
	u.CompletionTokens = int64(counter.Count(resp.Text).Tokens)
	return u
}

// finish fills the timing and cost fields and appends the ledger record.
func (s *Sender) finish(ctx context.Context, out *Outcome, rec ledger.Record, start time.Time) (Outcome, error) {
	lat := s.d.Clock().Sub(start).Milliseconds()
	out.LatencyMS, rec.LatencyMS = lat, lat
	c := &out.Cost
	c.ProjectedUSD, c.ActualUSD, c.BaselineUSD = c.ProjectedNanos.USD(), c.ActualNanos.USD(), c.BaselineNanos.USD()
	c.ReservedUSD = c.ReservedNanos.USD()
	c.SavingsUSD = (c.BaselineNanos - c.ActualNanos).USD()
	c.ErrorUSD = (c.ActualNanos - c.ProjectedNanos).USD()
	if rec.ID != 0 {
		if err := s.d.Ledger.Update(ctx, rec); err != nil {
			return *out, fmt.Errorf("ledger: %w", err)
		}
		out.LedgerID = rec.ID
		return *out, nil
	}
	id, err := s.d.Ledger.Append(ctx, rec)
	if err != nil {
		return *out, fmt.Errorf("ledger: %w", err)
	}
	out.LedgerID = id
	return *out, nil
}

// baseline prices the plan's prompt (with the system prompt, if any) on the
// baseline model with a completion as long as text in the baseline's
// tokenizer, or completion tokens when text is empty.
func (s *Sender) baseline(pl plan.Plan, scope cache.Scope, text string, completion int64) (money.Nanos, bool) {
	base, ok := s.d.Catalog.Lookup(pl.Cost.BaselineModel)
	if !ok {
		return 0, false
	}
	counter := s.d.Tokens.ForModel(base.ID)
	prompt := int64(pl.Input.Tokens + pl.Input.OverheadTokens)
	if scope.System != "" {
		prompt += int64(counter.Count(scope.System).Tokens + systemFraming)
	}
	if text != "" {
		completion = int64(counter.Count(text).Tokens)
	}
	return cost.Request(base, cost.Usage{PromptTokens: prompt, CompletionTokens: completion}), true
}

// attribute re-prices the baseline with the real answer and splits the
// saving, baseline − actual, between the strategies (plan.Attribution's
// order): compression is the prompt tokens it removed at the routed model's
// input price (sent is the prompt actually sent, counted with the routed
// model's tokenizer: a summary's real length, not its projection), the
// provider's prompt-cache discount is what the call would have cost at full
// price minus what it cost, and routing is the rest of the difference to
// the baseline. The parts add up to the saving exactly. A summary's own
// cost is on its own record (TagSummarize).
func (s *Sender) attribute(rec *ledger.Record, pl plan.Plan, scope cache.Scope, m pricing.Model, u Usage, text string, sent int) {
	if b, ok := s.baseline(pl, scope, text, u.CompletionTokens); ok {
		rec.BaselineNanos = b
	}
	full := cost.Request(m, cost.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens})
	compression := m.Input.Cost(int64(pl.Cost.RoutedPromptTokens - sent))
	rec.Saved = ledger.Saved{
		Discount:    full - rec.ActualNanos,
		Compression: compression,
		Routing:     rec.BaselineNanos - (full + compression),
	}
}

// recordFailure writes a failed or refused send; its own failure is only a
// warning, since the caller is already getting the more important error.
func (s *Sender) recordFailure(ctx context.Context, out *Outcome, rec ledger.Record, start time.Time) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if _, err := s.finish(bctx, out, rec, start); err != nil {
		out.Warnings = append(out.Warnings, "failure not recorded: "+err.Error())
	}
}

// Fingerprint is a short stable hash of a cache scope, stored in the ledger
// so that sends can be grouped by scope without storing the system prompt.
func Fingerprint(s cache.Scope) string {
	b, err := json.Marshal(s)
	if err != nil {
		// Scope holds only strings and numbers; Marshal cannot fail on it
		// short of a NaN temperature, which still deserves a stable value.
		b = fmt.Appendf(nil, "%#v", s)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// reserve holds amount in the budget (when there is one) for the call rec
// records: on success rec carries the reserved amount; on failure rec is
// marked refused (over budget) or failed, for the caller to record.
func (s *Sender) reserve(ctx context.Context, amount money.Nanos, rec *ledger.Record) (budget.Hold, error) {
	if s.d.Budget == nil {
		return budget.Hold{}, nil
	}
	h, err := s.d.Budget.Reserve(ctx, amount)
	if err != nil {
		rec.Status, rec.Error = ledger.StatusError, err.Error()
		if errors.Is(err, budget.ErrBudgetExceeded) {
			rec.Status = ledger.StatusRefused
		}
		return h, err
	}
	rec.ReservedNanos = h.Amount
	return h, nil
}
