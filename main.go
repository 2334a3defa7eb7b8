// Command penny is a terminal playground for LLM cost optimization: type a
// prompt and see, before anything is sent, what compression, routing and
// caching would do to it and what it will cost. See README.md.
//
// main wires the layers: config → storage → providers → core services →
// the playground (tui), the subcommands (tui/cli) or the SSH server.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/config"
	coreembed "github.com/pennyllm/penny/core/embed"
	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/replay"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/core/tokens"
	cachefix "github.com/pennyllm/penny/fixtures/cache"
	routefix "github.com/pennyllm/penny/fixtures/route"
	"github.com/pennyllm/penny/fixtures/traffic"
	"github.com/pennyllm/penny/providers/embed"
	"github.com/pennyllm/penny/providers/registry"
	"github.com/pennyllm/penny/providers/summarize"
	"github.com/pennyllm/penny/storage"
	"github.com/pennyllm/penny/tui"
	"github.com/pennyllm/penny/tui/cli"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/serve"
	"golang.org/x/term"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g, rest, err := parseGlobal(args)
	if err != nil {
		fmt.Fprintf(stderr, "penny: %v\n", err)
		return 2
	}
	a, err := newApp(g, environ())
	if err != nil {
		fmt.Fprintf(stderr, "penny: %v\n", err)
		return 1
	}
	defer a.Close()

	if len(rest) == 0 {
		return a.playground(ctx, stdin, stdout, stderr)
	}
	if rest[0] == "serve" {
		return a.serve(ctx, rest[1:], stdout, stderr)
	}
	isTerm := false
	if f, ok := stdout.(*os.File); ok {
		isTerm = term.IsTerminal(int(f.Fd()))
	}
	return a.runCLI(ctx, rest, stdin, stdout, stderr, isTerm)
}

// globalFlags are accepted by every command, anywhere on the line.
type globalFlags struct {
	configPath string
	dbPath     string
}

// parseGlobal removes --config and --db (as "--flag value" or "--flag=value",
// one dash or two) from args, up to a "--" terminator.
func parseGlobal(args []string) (globalFlags, []string, error) {
	var g globalFlags
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var dst *string
		if strings.HasPrefix(a, "-") {
			switch name {
			case "config":
				dst = &g.configPath
			case "db":
				dst = &g.dbPath
			}
		}
		if dst == nil {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return g, nil, fmt.Errorf("--%s needs a path", name)
			}
			i++
			val = args[i]
		}
		*dst = val
	}
	return g, rest, nil
}

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// paths are where penny keeps its files (XDG base directories).
type paths struct {
	config string // penny.toml
	data   string // data dir: penny.db, host key, imported prices
	db     string
	state  string // logs
}

func resolvePaths(g globalFlags, env map[string]string) (paths, error) {
	home := env["HOME"]
	base := func(xdg, fallback string) (string, error) {
		if d := env[xdg]; d != "" {
			return filepath.Join(d, "penny"), nil
		}
		if home == "" {
			return "", fmt.Errorf("neither $%s nor $HOME is set; pass --config and --db", xdg)
		}
		return filepath.Join(home, fallback, "penny"), nil
	}
	var p paths
	var err error
	cfgDir, err := base("XDG_CONFIG_HOME", ".config")
	if err != nil && g.configPath == "" {
		return p, err
	}
	if p.data, err = base("XDG_DATA_HOME", ".local/share"); err != nil && g.dbPath == "" {
		return p, err
	}
	if p.state, err = base("XDG_STATE_HOME", ".local/state"); err != nil {
		p.state = p.data
	}
	p.config = firstNonEmpty(g.configPath, env["PENNY_CONFIG"], filepath.Join(cfgDir, "penny.toml"))
	p.db = firstNonEmpty(g.dbPath, env["PENNY_DB"], filepath.Join(p.data, "penny.db"))
	if g.dbPath != "" || env["PENNY_DB"] != "" {
		// Files that belong with the database live beside it.
		p.data = filepath.Dir(p.db)
	}
	return p, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// loadConfig reads penny.toml, writing the commented default on first run
// when the path is the default one. An explicitly named file must exist.
func loadConfig(path string, explicit bool, env map[string]string, ext ...config.Section) (config.Config, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && explicit:
		return config.Config{}, fmt.Errorf("config file %s does not exist", path)
	case errors.Is(err, os.ErrNotExist):
		data = config.DefaultFile
		// First run: leave the commented default where the user will look
		// for it. Failing to write it (read-only home) is not fatal.
		_ = writeFileAtomic(path, config.DefaultFile, 0o600)
	case err != nil:
		return config.Config{}, fmt.Errorf("read config: %w", err)
	}
	return config.Parse(path, data, env, ext...)
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// never leaves a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// app holds the wired services. Storage, the embedder and the cache open
// lazily: `penny scenario` or `penny prices list` touch neither.
type app struct {
	paths    paths
	env      map[string]string
	cfg      config.Config
	prov     registry.Config
	embedCfg embed.Config
	cat      *pricing.Catalog
	toks     *tokens.Registry
	log      *slog.Logger
	logFile  *os.File
	simulate bool // force the simulated provider (penny serve --demo)

	mu      sync.Mutex
	db      *storage.DB
	emb     coreembed.Embedder
	judge   *cache.Calibrated
	cache   *cache.Cache
	planner *plan.Planner
	reg     *registry.Registry
	sender  *send.Sender
	batcher interface{ Close(context.Context) error }
	live    *liveRouter // the planner's router, swapped by rule saves and labels
	rules   *rulesService
}

// providersSection decodes [providers] of penny.toml into dst.
func providersSection(dst *registry.Config) config.Section {
	return config.Section{Key: "providers", Value: dst, Validate: func() error { return dst.Validate() }}
}

// embedSection decodes [embed] of penny.toml into dst.
func embedSection(dst *embed.Config) config.Section {
	return config.Section{Key: "embed", Value: dst, Validate: func() error { return dst.Validate() }}
}

func newApp(g globalFlags, env map[string]string) (*app, error) {
	p, err := resolvePaths(g, env)
	if err != nil {
		return nil, err
	}
	a := &app{paths: p, env: env, toks: tokens.NewRegistry(), embedCfg: embed.DefaultConfig()}
	a.openLog()
	a.cfg, err = loadConfig(p.config, g.configPath != "" || env["PENNY_CONFIG"] != "", env, providersSection(&a.prov), embedSection(&a.embedCfg))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	if a.cfg.User == "" {
		a.cfg.User = env["USER"]
	}
	if a.cat, err = a.loadCatalog(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openLog sends the log to a file in the state dir, never to the
// terminal; without a writable state dir, logs are dropped.
func (a *app) openLog() {
	a.log = slog.New(slog.DiscardHandler)
	if err := os.MkdirAll(a.paths.state, 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(a.paths.state, "penny.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	a.logFile = f
	level := slog.LevelInfo
	if a.env["PENNY_DEBUG"] != "" {
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
}

func (a *app) pricesLayerPath() string { return filepath.Join(a.paths.data, "prices-litellm.json") }

// loadCatalog layers the embedded catalog, the last `penny prices import`
// and the config's [[prices]] overrides, in that order.
func (a *app) loadCatalog() (*pricing.Catalog, error) {
	cat, err := pricing.Embedded()
	if err != nil {
		return nil, err
	}
	if f, err := os.Open(a.pricesLayerPath()); err == nil {
		models, err := pricing.LoadLayer(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("imported prices %s: %w (re-run `penny prices import` or delete the file)", a.pricesLayerPath(), err)
		}
		if cat, err = cat.WithLayer(models); err != nil {
			return nil, fmt.Errorf("imported prices %s: %w", a.pricesLayerPath(), err)
		}
	}
	if len(a.cfg.Prices) > 0 {
		if cat, err = cat.WithOverrides(a.cfg.Prices, time.Now().Format(time.DateOnly)); err != nil {
			return nil, fmt.Errorf("%s: %w", a.paths.config, err)
		}
	}
	if _, ok := cat.Lookup(a.cfg.BaselineModel); !ok {
		return nil, fmt.Errorf("%s: baseline_model %q is not in the price catalog (see `penny prices list`)", a.paths.config, a.cfg.BaselineModel)
	}
	return cat, nil
}

// Close releases what was opened, in reverse order of need.
func (a *app) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.batcher != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.batcher.Close(ctx)
		cancel()
	}
	if a.cache != nil {
		_ = a.cache.Close()
	}
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			a.log.Error("close database", "err", err)
		}
	}
	if a.logFile != nil {
		a.logFile.Close()
	}
}

// Cache implements cli.Deps.
func (a *app) Cache(ctx context.Context) (cli.Cache, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.plannerLocked(ctx, false); err != nil {
		return nil, err
	}
	return a.cache, nil
}

// Scope implements cli.Deps.
func (a *app) Scope(context.Context) (cache.Scope, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.scopeLocked()
}

// scopeLocked is the cache scope of the user's requests: answers of the
// simulator are kept apart from real ones.
func (a *app) scopeLocked() (cache.Scope, error) {
	reg, err := a.providers()
	if err != nil {
		return cache.Scope{}, err
	}
	var sc cache.Scope
	if reg.Simulated() {
		sc.Source = simulatedSource
	}
	return sc, nil
}

// simulatedSource marks cache entries answered by the simulator.
const simulatedSource = "simulated"

// Tokens implements cli.Deps.
func (a *app) Tokens() *tokens.Registry { return a.toks }

// Config implements cli.Deps.
func (a *app) Config() config.Config { return a.cfg }

// Catalog implements cli.Deps.
func (a *app) Catalog() *pricing.Catalog { return a.cat }

// SavePrices implements cli.Deps: the import becomes a layer file beside
// the database.
func (a *app) SavePrices(_ context.Context, date string, models []pricing.Model) (string, error) {
	var buf bytes.Buffer
	if err := pricing.WriteLayer(&buf, date, models); err != nil {
		return "", err
	}
	path := a.pricesLayerPath()
	if err := writeFileAtomic(path, buf.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("save imported prices: %w", err)
	}
	return path, nil
}

func (a *app) store(ctx context.Context) (*storage.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	db, err := storage.Open(ctx, a.paths.db)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", a.paths.db, err)
	}
	a.db = db
	return db, nil
}

func (a *app) embedder() (coreembed.Embedder, error) {
	if a.emb != nil {
		return a.emb, nil
	}
	cfg := a.embedCfg
	if cfg.APIKey == "" {
		cfg.APIKey = firstNonEmpty(a.env["PENNY_EMBED_API_KEY"], a.env["OPENAI_API_KEY"])
	}
	e, err := embed.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedder: %w", err)
	}
	a.emb = e
	return e, nil
}

// cacheJudge is the semantic cache's judge. The local embedder also lends
// it word weights and word similarity; its calibration was fitted for it.
func (a *app) cacheJudge() (*cache.Calibrated, error) {
	if a.judge != nil {
		return a.judge, nil
	}
	j, err := a.newCacheJudge(0, 0)
	if err != nil {
		return nil, err
	}
	a.judge = j
	return j, nil
}

// newCacheJudge builds a judge keeping up to analyses texts' analyses in
// at most analysisBytes (estimated); zeros mean the judge's defaults.
func (a *app) newCacheJudge(analyses, analysisBytes int) (*cache.Calibrated, error) {
	emb, err := a.embedder()
	if err != nil {
		return nil, err
	}
	opts := cache.JudgeOptions{EmbedderID: emb.ID(), AnalysisCache: analyses, AnalysisCacheBytes: analysisBytes}
	if lex, ok := emb.(cache.Lexicon); ok {
		opts.Lexicon = lex
	}
	j, err := cache.NewJudge(opts)
	if err != nil {
		return nil, fmt.Errorf("cache judge: %w", err)
	}
	return j, nil
}

func (a *app) providers() (*registry.Registry, error) {
	if a.reg != nil {
		return a.reg, nil
	}
	cfg := a.prov
	if a.simulate {
		cfg.Offline = true
	}
	lookup := func(k string) (string, bool) { v, ok := a.env[k]; return v, ok }
	reg, err := registry.New(cfg, a.cat, a.toks, lookup, nil)
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	a.reg = reg
	return reg, nil
}

// Planner implements cli.Deps: it wires the cache (SQLite entries, local
// embedder, calibrated judge), the router (config rules, the learned
// signal from labelled history, only models a provider serves) and the
// compressor.
func (a *app) Planner(ctx context.Context) (*plan.Planner, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.plannerLocked(ctx, false)
}

func (a *app) plannerLocked(ctx context.Context, background bool) (*plan.Planner, error) {
	if a.planner != nil {
		return a.planner, nil
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := a.providers()
	if err != nil {
		return nil, err
	}
	p, c, err := a.buildPlanner(ctx, storage.NewCacheStore(db), reg.Available, background, nil)
	if err != nil {
		return nil, err
	}
	// Route through a swappable router so that saved rules apply at once.
	live := &liveRouter{}
	live.p.Store(p.Router.(*route.Router))
	p.Router = live
	a.planner, a.cache, a.live, a.rules = p, c, live, &rulesService{a: a, live: live}
	return p, nil
}

// buildPlanner wires the stages over a cache store. background loads the
// cache's entries without waiting (the TUI's first frame must not wait for
// the index); otherwise they are in memory when it returns. judge nil
// means the shared cacheJudge.
func (a *app) buildPlanner(ctx context.Context, store cache.Store, available func(string) bool, background bool, judge *cache.Calibrated) (*plan.Planner, *cache.Cache, error) {
	emb, err := a.embedder()
	if err != nil {
		return nil, nil, err
	}
	if judge == nil {
		if judge, err = a.cacheJudge(); err != nil {
			return nil, nil, err
		}
	}
	c, err := cache.New(a.cfg.Cache, store, emb, judge, time.Now)
	if err != nil {
		return nil, nil, fmt.Errorf("cache: %w", err)
	}
	fail := func(err error) (*plan.Planner, *cache.Cache, error) {
		c.Close()
		return nil, nil, err
	}
	if background {
		c.Start(context.Background())
	} else if err := c.Load(ctx); err != nil {
		return fail(fmt.Errorf("load cache: %w", err))
	}
	db, err := a.store(ctx)
	if err != nil {
		return fail(err)
	}
	learned, err := a.learned(ctx, db, emb)
	if err != nil {
		return fail(err)
	}
	router, err := route.New(a.cfg.Route, a.cat, learned)
	if err != nil {
		return fail(fmt.Errorf("router: %w", err))
	}
	// The configured compressor, and the same with the lossy passes
	// switched on and off for the per-prompt choice (plan.Options.Lossy).
	var comps [3]*compress.Compressor
	for i, cc := range []compress.Config{a.cfg.Compress, a.cfg.Compress.WithLossy(true), a.cfg.Compress.WithLossy(false)} {
		if comps[i], err = compress.New(cc); err != nil {
			return fail(fmt.Errorf("compressor: %w", err))
		}
	}
	sumModel, err := a.summarizeModel(available)
	if err != nil {
		return fail(err)
	}
	return &plan.Planner{Tokens: a.toks, Catalog: a.cat, Compressor: comps[0], Lossy: comps[1], Lossless: comps[2],
		SummarizeModel: sumModel, Cache: c, Router: router.WithAvailable(available)}, c, nil
}

// summarizeModel is the model that writes summaries: compress.summarize_model,
// or else the first model of the cheapest route tier that a provider serves.
func (a *app) summarizeModel(available func(string) bool) (string, error) {
	if m := a.cfg.Compress.SummarizeModel; m != "" {
		if _, ok := a.cat.Lookup(m); !ok {
			return "", fmt.Errorf("compress.summarize_model: %q is not in the price catalog (see `penny prices list`)", m)
		}
		return m, nil
	}
	if len(a.cfg.Route.Tiers) > 0 {
		for _, m := range a.cfg.Route.Tiers[0].Models {
			if _, ok := a.cat.Lookup(m); ok && available(m) {
				return m, nil
			}
		}
	}
	return "", nil // the planner then prices summaries on the routed model
}

// replayAnalysisBytes bounds a replay judge's analyses by the judge's own
// estimate (cache.JudgeOptions.AnalysisCacheBytes), which counts the memos
// a long-lived analysis can grow: a replay is a batch job that may use the
// memory. Short prompts' analyses measure about a quarter of the estimate
// (BenchmarkReplayShort's heap-MB).
const replayAnalysisBytes = 1 << 30

// Replay implements cli.Deps: the pipeline with a fresh in-memory cache, so
// simulated answers never reach the real cache, and the simulated provider
// with no latency; sends are recorded in the real ledger. The closer
// releases the replay's cache (its index, entries and judge) when the run
// ends: the app outlives many replays under `penny serve`, so it keeps no
// reference to them.
func (a *app) Replay(ctx context.Context) (replay.Planner, replay.Executor, io.Closer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	db, err := a.store(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	sim, err := registry.New(registry.Config{Offline: true}, a.cat, a.toks, func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	// Lookups judge candidates among the cache's entries, the same prompts
	// again and again as the cache grows: the replay's own judge keeps an
	// analysis for each entry and each query (up to replayAnalysisBytes,
	// estimated) instead of the shared judge's few thousand.
	judge, err := a.newCacheJudge(2*a.cfg.Cache.MaxEntries, replayAnalysisBytes)
	if err != nil {
		return nil, nil, nil, err
	}
	p, c, err := a.buildPlanner(ctx, cache.NewMemoryStore(), sim.Available, false, judge)
	if err != nil {
		return nil, nil, nil, err
	}
	// The report needs each request's outcome, not why a miss missed.
	p.Cache = cache.OutcomeOnly{Cache: c}
	// Replayed sends spend nothing, so their ledger rows are written
	// behind, 512 to a transaction (the runner flushes at the end).
	led := ledger.NewBuffered(storage.NewLedgerStore(db), 512)
	s, err := send.New(a.cfg.Send, send.Deps{Catalog: a.cat, Tokens: a.toks, Providers: send.ProviderFunc(sim.Resolve),
		Ledger: led, Cache: cacheFiller{c}, Summarizer: summarize.New(sim.Resolve)})
	if err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	// The runner plans requests ahead on the other CPUs while earlier ones
	// are sent; the cache's stamps tell it which plans are still valid.
	return replay.NewSpeculative(p, c), replay.SendExecutor{Sender: s, Ledger: led}, &replayRun{cache: c, ledger: led}, nil
}

// replayRun is what one replay holds beyond its planner and executor.
type replayRun struct {
	once   sync.Once
	err    error
	cache  *cache.Cache
	ledger *ledger.Buffered
}

// Close writes what the ledger still buffers, then stops the cache's
// background work; the cache is then garbage once the caller drops the
// planner and executor. The runner flushes at the end of its run (also
// after a cancellation): this flush, a no-op then, records the rows of a
// replay whose run failed to flush or never ran. Close may be called more
// than once.
func (r *replayRun) Close() error {
	r.once.Do(func() {
		if err := r.ledger.Flush(context.Background()); err != nil {
			r.err = fmt.Errorf("replay: %w", err)
		}
		_ = r.cache.Close()
	})
	return r.err
}

// CacheLookup implements cli.Deps for `penny eval cache`: each pair gets a
// fresh in-memory cache holding only a, asked for b, with the configured
// embedder, judge and guards (Evaluate applies the thresholds).
func (a *app) CacheLookup(ctx context.Context) (cache.LookupFunc, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	emb, err := a.embedder()
	if err != nil {
		return nil, "", err
	}
	judge, err := a.cacheJudge()
	if err != nil {
		return nil, "", err
	}
	return cache.CacheLookup(a.cfg.Cache, emb, judge), judge.Scale(), nil
}

// EvalRouter implements cli.Deps for `penny eval route`.
func (a *app) EvalRouter(ctx context.Context, examples []route.Example) (*route.Router, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var learned *route.Learned
	if len(examples) > 0 {
		emb, err := a.embedder()
		if err != nil {
			return nil, err
		}
		if learned, err = route.NewLearned(ctx, emb, examples, a.cfg.Route.Learned, a.cfg.Route.Tiers...); err != nil {
			return nil, fmt.Errorf("learned signal: %w", err)
		}
	}
	return route.New(a.cfg.Route, a.cat, learned)
}

// learned builds the router's k-NN signal from the prompts the user
// labelled in History (the newest label of a prompt wins) and the example
// files of route.learned.examples (RouteLLM CSVs, optionally with a tier
// column).
func (a *app) learned(ctx context.Context, db *storage.DB, emb coreembed.Embedder) (*route.Learned, error) {
	ex, err := db.RouteExamples(ctx, 0)
	if err != nil {
		return nil, err
	}
	files, err := a.exampleFiles()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		ex = append(ex, f.examples...)
	}
	if len(ex) == 0 {
		return nil, nil
	}
	l, err := route.NewLearned(ctx, emb, ex, a.cfg.Route.Learned, a.cfg.Route.Tiers...)
	if err != nil {
		return nil, fmt.Errorf("router learned signal: %w", err)
	}
	for _, w := range l.Warnings() {
		a.log.Warn(w)
	}
	return l, nil
}

// exampleFile is one file of route.learned.examples.
type exampleFile struct {
	name     string // as configured
	examples []route.Example
}

// exampleFiles reads the files of route.learned.examples; relative names
// are relative to the config file.
func (a *app) exampleFiles() ([]exampleFile, error) {
	var out []exampleFile
	for _, name := range a.cfg.Route.Learned.Examples {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(a.paths.config), path)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("route.learned.examples: %w", err)
		}
		rows, err := route.ParseExamplesCSV(f, route.CSVOptions{Group: name})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("route.learned.examples: %s: %w", path, err)
		}
		out = append(out, exampleFile{name, rows})
	}
	return out, nil
}

// labelledHistory is the History view's backend: a label takes effect in
// the router's learned signal at once, not at the next start.
type labelledHistory struct {
	*storage.DB
	a    *app
	live *liveRouter
}

// Tiers implements tui.History: the configured tiers, which SetLabel
// accepts in tier labels.
func (h labelledHistory) Tiers() []string {
	names := make([]string, len(h.a.cfg.Route.Tiers))
	for i, t := range h.a.cfg.Route.Tiers {
		names[i] = t.Name
	}
	return names
}

func (h labelledHistory) SetLabel(ctx context.Context, id int64, l history.Label) error {
	// A tier label must name a configured tier: the router would leave it
	// out of the learned signal, and the user should hear so now.
	if tier, ok := l.Tier(); ok {
		if _, known := route.TierTargets(h.a.cfg.Route.Tiers)[tier]; !known {
			return fmt.Errorf("label history %d: no tier %q is configured in route.tiers", id, tier)
		}
	}
	if err := h.DB.SetLabel(ctx, id, l); err != nil {
		return err
	}
	learned, err := h.a.learned(ctx, h.DB, h.a.emb)
	if err != nil {
		return fmt.Errorf("label saved; the router will use it from the next start: %w", err)
	}
	h.live.p.Store(h.live.p.Load().WithLearned(learned))
	h.a.rules.invalidate() // previews re-read the labelled history
	return nil
}

// Sender implements cli.Deps: the sender, recording history.
func (a *app) Sender(ctx context.Context) (cli.Sender, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, err := a.senderLocked(ctx)
	if err != nil {
		return nil, err
	}
	return historySender{s: s, h: a.db, log: a.log}, nil
}

// Ledger implements cli.Deps.
func (a *app) Ledger(ctx context.Context) (ledger.Store, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	return storage.NewLedgerStore(db), nil
}

// historySender records every send in history, where the user can label
// it for the router and reload it into the playground.
type historySender struct {
	s   *send.Sender
	h   history.Store
	log *slog.Logger
}

func (h historySender) Send(ctx context.Context, pl plan.Plan, opt send.Options, onDelta func(string)) (send.Outcome, error) {
	out, err := h.s.Send(ctx, pl, opt, onDelta)
	if err != nil && !errors.Is(err, send.ErrNotRecorded) {
		return out, err
	}
	actual := int64(out.Cost.ActualNanos)
	summary, _ := json.Marshal(struct {
		Route  any   `json:"route"`
		Cache  any   `json:"cache"`
		Cost   any   `json:"cost"`
		Ledger int64 `json:"ledger_id"`
	}{pl.Route, pl.Cache.Outcome, pl.Cost, out.LedgerID})
	_, herr := h.h.AddHistory(context.WithoutCancel(ctx), history.Entry{
		User: opt.User, Prompt: pl.Prompt, Model: pl.Cost.BaselineModel, Routed: pl.Route.Model,
		Cache: string(out.Cache.Outcome), PlanJSON: string(summary),
		ProjectedNanos: pl.Cost.OptimizedNanos, ActualNanos: &actual,
	})
	if herr != nil {
		h.log.Error("record history", "err", herr)
		out.Warnings = append(out.Warnings, "not saved to history: "+herr.Error())
	}
	return out, err
}

// senderLocked wires sending: providers (simulated unless configured), the
// budget reserved in SQLite, the ledger, the cache to fill, the batcher.
func (a *app) senderLocked(ctx context.Context) (*send.Sender, error) {
	if a.sender != nil {
		return a.sender, nil
	}
	if _, err := a.plannerLocked(ctx, false); err != nil {
		return nil, err
	}
	reg, err := a.providers()
	if err != nil {
		return nil, err
	}
	bud, err := budget.New(a.cfg.Budget, storage.NewBudgetStore(a.db), budget.Options{
		Location: time.Local,
		Notifier: budget.NotifierFunc(func(_ context.Context, al budget.Alert) { a.log.Warn("budget alert", "alert", al) }),
	})
	if err != nil {
		return nil, fmt.Errorf("budget: %w", err)
	}
	deps := send.Deps{
		Catalog: a.cat, Tokens: a.toks, Providers: send.ProviderFunc(reg.Resolve),
		Ledger: storage.NewLedgerStore(a.db), Cache: cacheFiller{a.cache}, Budget: bud,
		// Summaries go through the same registry: simulated when offline
		// or in a --demo server, the configured endpoint otherwise.
		Summarizer: summarize.New(reg.Resolve),
	}
	if a.cfg.Batch.Enabled {
		b, err := send.NewBatcher(context.Background(), a.cfg.Batch)
		if err != nil {
			return nil, fmt.Errorf("batcher: %w", err)
		}
		deps.Batcher, a.batcher = b, b
	}
	s, err := send.New(a.cfg.Send, deps)
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	a.sender = s
	return s, nil
}

// cacheFiller adapts the cache to what the sender needs.
type cacheFiller struct{ c *cache.Cache }

func (f cacheFiller) Serve(ctx context.Context, req cache.Request, planned cache.Result) (cache.Result, error) {
	return f.c.ServeHit(ctx, req, planned)
}

func (f cacheFiller) Put(ctx context.Context, req cache.Request, response string, meta cache.Meta) error {
	_, err := f.c.Put(ctx, req, response, meta)
	return err
}

func (a *app) runCLI(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, isTerm bool) int {
	return cli.Run(ctx, a, cli.IO{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, IsTerminal: isTerm,
		Open: func(name string) (io.ReadCloser, error) { return os.Open(name) },
	}, args)
}

// playground runs the TUI on the local terminal.
func (a *app) playground(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	svc, opts, err := a.services(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "penny: %v\n", err)
		return 1
	}
	if a.env["PENNY_DEBUG"] != "" && a.logFile != nil {
		opts.DebugLog = a.logFile
	}
	p := tea.NewProgram(tui.New(svc, opts), tea.WithContext(ctx), tea.WithInput(stdin), tea.WithOutput(stdout))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) && ctx.Err() == nil {
		fmt.Fprintf(stderr, "penny: %v\n", err)
		return 1
	}
	return 0
}

// services builds what the playground talks to, and its options.
// Storage problems (a locked or unwritable database) are reported; the TUI
// cannot run without its planner.
func (a *app) services(ctx context.Context) (tui.Services, tui.Options, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pl, err := a.plannerLocked(ctx, true)
	if err != nil {
		return tui.Services{}, tui.Options{}, err
	}
	s, err := a.senderLocked(ctx)
	if err != nil {
		return tui.Services{}, tui.Options{}, err
	}
	scope, err := a.scopeLocked()
	if err != nil {
		return tui.Services{}, tui.Options{}, err
	}
	svc := tui.Services{
		Planner: pl, Models: chatModels{a.cat}, Sender: historySender{s: s, h: a.db, log: a.log}, History: labelledHistory{a.db, a, a.live}, Cache: a.cache,
		Rules: a.rules, Savings: savingsService{storage.NewLedgerStore(a.db)}, Demo: demoService{a}, Eval: cacheEvaluator{a},
	}
	opts := tui.Options{
		Baseline: a.cfg.BaselineModel, CompletionTokens: a.cfg.CompletionTokens, RequestsPerDay: a.cfg.RequestsPerDay,
		Scope: scope, NoColor: a.env["NO_COLOR"] != "", Logger: a.log, User: a.cfg.User,
	}
	return svc, opts, nil
}

// chatModels offers only chat models to the baseline picker.
type chatModels struct{ c *pricing.Catalog }

func (m chatModels) Models() []pricing.Model { return m.c.ChatModels() }

// serve runs `penny serve [--listen ADDR] [--demo]` until SIGINT/SIGTERM.
func (a *app) serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", a.cfg.Serve.Listen, "address to listen on")
	demo := fs.Bool("demo", false, "let anyone in; every send is simulated and nothing is saved to config")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "penny serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// A demo never spends real money: the simulator answers every send.
	a.simulate = *demo
	keys := a.cfg.Serve.AuthorizedKeys
	if keys == "" {
		keys = filepath.Join(filepath.Dir(a.paths.config), "authorized_keys")
	}
	// Open the shared services before listening, so a broken database or
	// config is reported now rather than to the first visitor.
	if _, _, err := a.services(ctx); err != nil {
		fmt.Fprintf(stderr, "penny serve: %v\n", err)
		return 1
	}
	srv, err := serve.New(serve.Config{
		Listen: *listen, HostKeyPath: filepath.Join(a.paths.data, "ssh_host_ed25519"), AuthorizedKeys: keys,
		Demo: *demo, MaxSessions: a.cfg.Serve.MaxSessions, IdleTimeout: a.cfg.Serve.IdleTimeout,
		AuthFailures: a.cfg.Serve.AuthFailuresPerMinute,
	}, sshHandler{a}, a.log)
	if err != nil {
		fmt.Fprintf(stderr, "penny serve: %v\n", err)
		return 1
	}
	mode := "authorized keys from " + keys
	if *demo {
		mode = "demo mode: anyone may connect, sends are simulated"
	}
	fmt.Fprintf(stdout, "penny serve: listening on %s (%s); ctrl+c stops\n", *listen, mode)
	if err := srv.ListenAndServe(ctx); err != nil {
		fmt.Fprintf(stderr, "penny serve: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "penny serve: stopped")
	return 0
}

// sshHandler gives each SSH session its services: the shared planner,
// cache and ledger, a sender limited per session, the session's user name
// in history.
type sshHandler struct{ a *app }

func (h sshHandler) Playground(ctx context.Context, s serve.Session) (tui.Services, tui.Options, error) {
	svc, opts, err := h.a.services(ctx)
	if err != nil {
		return tui.Services{}, tui.Options{}, err
	}
	svc.Sender = serve.LimitSender(svc.Sender, serve.Limits{
		SendsPerMinute: h.a.cfg.Serve.SendsPerMinute, Budget: money.FromUSD(h.a.cfg.Serve.SessionBudgetUSD),
	})
	if s.Demo {
		svc.Cache, svc.Rules = readOnlyCache{svc.Cache}, previewOnlyRules{svc.Rules}
	}
	opts.User = s.User
	if s.Demo {
		// Demo visitors share the demo data's cache tenant, so its hits
		// show; their simulated answers never reach non-demo users.
		opts.Scope.Tenant = demoTenant
	}
	return svc, opts, nil
}

func (h sshHandler) CLI(ctx context.Context, s serve.Session, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Open is nil: a remote user reads no file of the server's.
	return cli.Run(ctx, h.a, cli.IO{Stdin: stdin, Stdout: stdout, Stderr: stderr}, args)
}

// readOnlyCache refuses edits in demo sessions, where visitors must not
// change what the next visitor sees.
type readOnlyCache struct{ tui.CacheBrowser }

var errDemoReadOnly = errors.New("not in a demo session: nothing is saved here")

func (readOnlyCache) Evict(context.Context, int64) error     { return errDemoReadOnly }
func (readOnlyCache) Pin(context.Context, int64, bool) error { return errDemoReadOnly }

// previewOnlyRules lets demo visitors tune rules and watch the effect, but
// never writes penny.toml (the playground also disables the key).
type previewOnlyRules struct{ next tui.Rules }

func (p previewOnlyRules) Rules(ctx context.Context) ([]route.RuleConfig, error) {
	return p.next.Rules(ctx)
}

func (p previewOnlyRules) Preview(ctx context.Context, rules []route.RuleConfig, prompt string) (common.RulesPreview, error) {
	return p.next.Preview(ctx, rules, prompt)
}

func (previewOnlyRules) Save(context.Context, []route.RuleConfig) error { return errDemoReadOnly }

// liveRouter lets a rules save take effect at once: the planner routes
// through it while the rules view swaps the router underneath, from
// another goroutine.
type liveRouter struct{ p atomic.Pointer[route.Router] }

func (l *liveRouter) Route(ctx context.Context, req route.Request) (route.Decision, error) {
	return l.p.Load().Route(ctx, req)
}

// rulesService is the rules view's backend: previews on the labelled sets
// and recent prompts, and saves into penny.toml, keeping everything else
// in the file as it was.
type rulesService struct {
	a      *app
	live   *liveRouter
	mu     sync.Mutex
	tuner  *route.Tuner
	recent []history.Entry
}

// recentForPreview is how many recent history items a preview re-routes.
const recentForPreview = 200

func (s *rulesService) Rules(context.Context) ([]route.RuleConfig, error) {
	return s.live.p.Load().Config().Rules, nil
}

func (s *rulesService) Preview(ctx context.Context, rules []route.RuleConfig, prompt string) (common.RulesPreview, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counter := s.a.toks.ForModel(s.a.cfg.BaselineModel)
	count := func(p string) int { return counter.Count(p).Tokens }
	if s.tuner == nil {
		r := s.live.p.Load()
		tiers := r.Config().Tiers
		sets, err := s.labelledSets(ctx, tiers)
		if err != nil {
			return common.RulesPreview{}, err
		}
		recent, err := s.a.db.ListHistory(ctx, history.Query{Limit: recentForPreview})
		if err != nil {
			return common.RulesPreview{}, err
		}
		prompts := make([]string, len(recent))
		for i, e := range recent {
			prompts[i] = e.Prompt
		}
		weak, strong, err := r.EvalModels(tiers[0].Models[0], tiers[len(tiers)-1].Models[0])
		if err != nil {
			return common.RulesPreview{}, err
		}
		if s.tuner, err = route.NewTuner(ctx, r, sets, prompts,
			route.EvalOptions{Weak: weak, Strong: strong, CompletionTokens: s.a.cfg.CompletionTokens}, count); err != nil {
			return common.RulesPreview{}, err
		}
		s.recent = recent
	}
	pv, err := s.tuner.Preview(ctx, rules, prompt, count(prompt))
	if err != nil {
		return common.RulesPreview{}, err
	}
	var out common.RulesPreview
	for _, e := range pv.Errors {
		field := e.Field
		if field == "pattern" || field == "keywords" {
			field = "match"
		}
		out.Errors = append(out.Errors, common.RuleError{Index: e.Index, Field: field, Msg: e.Err.Error()})
	}
	if len(out.Errors) > 0 {
		return out, nil
	}
	out.Decision, out.Sets = pv.Decision, pv.Metrics
	for _, i := range pv.Changed {
		out.Changed = append(out.Changed, s.recent[i])
	}
	return out, nil
}

// Save writes the rules into penny.toml atomically and routes with them
// from now on. The file must exist: it was written on first run.
func (s *rulesService) Save(ctx context.Context, rules []route.RuleConfig) error {
	rs, err := route.Compile(rules)
	if err != nil {
		return err
	}
	next, err := s.live.p.Load().WithRules(rs)
	if err != nil {
		return err
	}
	path := s.a.paths.config
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	// The providers and embed sections are decoded into throwaway values:
	// they only have to stay valid.
	var prov registry.Config
	emb := embed.DefaultConfig()
	out, err := config.WithRules(path, data, rules, s.a.env, providersSection(&prov), embedSection(&emb))
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, out, 0o600); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	s.live.p.Store(next)
	s.invalidate() // previews compare against the saved rules from now on
	return nil
}

// labelledSets are what a preview evaluates: the user's labelled history
// (even when empty, so the view can say how to add labels), each file of
// route.learned.examples, then penny's embedded labelled sets, so a rule
// edit shows its effect on real labels before the user has labelled any.
func (s *rulesService) labelledSets(ctx context.Context, tiers []route.TierConfig) ([]route.LabelledSet, error) {
	ex, err := s.a.db.RouteExamples(ctx, 0)
	if err != nil {
		return nil, err
	}
	sets := []route.LabelledSet{{Name: "labelled history", Data: route.LabelledFromExamples(ex, tiers...)}}
	files, err := s.a.exampleFiles()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		sets = append(sets, route.LabelledSet{Name: f.name, Data: route.LabelledFromExamples(f.examples, tiers...)})
	}
	for _, fs := range routefix.Sets() {
		data, err := routefix.Load(fs)
		if err != nil {
			return nil, err
		}
		sets = append(sets, route.LabelledSet{Name: fs.Name + " (embedded)", Data: data})
	}
	return sets, nil
}

// invalidate makes the next preview prepare the labelled sets and the
// current router again.
func (s *rulesService) invalidate() {
	s.mu.Lock()
	s.tuner = nil
	s.mu.Unlock()
}

// savingsService summarizes the ledger for the dashboard.
type savingsService struct{ store ledger.Store }

func (s savingsService) Summary(ctx context.Context) (common.SavingsSummary, error) {
	rep, err := ledger.Summarize(ctx, s.store, ledger.Filter{}, time.Local)
	if err != nil {
		return common.SavingsSummary{}, err
	}
	sum := common.SavingsSummary{Report: rep}
	for _, st := range rep.Totals.ByStrategy {
		sum.ByStrategy = append(sum.ByStrategy, common.Amount{Name: st.Strategy, Nanos: st.Nanos})
	}
	return sum, nil
}

// demoService fills an empty database with the embedded day of demo
// traffic, replayed through the real pipeline with the simulated provider.
// Its cache entries belong to the "demo" tenant, so their simulated answers
// are never served to the user's own prompts; SSH demo sessions use that
// tenant and do get them.
type demoService struct{ a *app }

// DemoTenant scopes the demo data in the cache.
const demoTenant = "demo"

func (d demoService) Empty(ctx context.Context) (bool, error) {
	n, err := d.a.db.CountHistory(ctx)
	return n == 0, err
}

func (d demoService) Load(ctx context.Context) (int, error) {
	tr, err := replay.Parse(bytes.NewReader(traffic.DemoJSONL), replay.ParseOptions{Strict: true})
	if err != nil {
		return 0, fmt.Errorf("demo traffic: %w", err)
	}
	d.a.mu.Lock()
	sim, err := registry.New(registry.Config{Offline: true}, d.a.cat, d.a.toks, func(string) (string, bool) { return "", false }, nil)
	var s *send.Sender
	if err == nil {
		s, err = send.New(d.a.cfg.Send, send.Deps{Catalog: d.a.cat, Tokens: d.a.toks, Providers: send.ProviderFunc(sim.Resolve),
			Ledger: storage.NewLedgerStore(d.a.db), Cache: cacheFiller{d.a.cache}, Summarizer: summarize.New(sim.Resolve)})
	}
	planner := d.a.planner
	d.a.mu.Unlock()
	if err != nil {
		return 0, err
	}
	r, err := replay.NewRunner(planner, replay.SendExecutor{Sender: historySender{s: s, h: d.a.db, log: d.a.log}, Tag: "demo"},
		replay.Config{Baseline: d.a.cfg.BaselineModel, CompletionTokens: d.a.cfg.CompletionTokens,
			Scope: cache.Scope{Tenant: demoTenant, Source: simulatedSource}, Catalog: d.a.cat, Tokens: d.a.toks})
	if err != nil {
		return 0, err
	}
	rep, err := r.Run(ctx, tr)
	return rep.Requests, err
}

// cacheEvaluator scores the cache's judge on penny's labelled pairs for
// the cache view's threshold slider.
type cacheEvaluator struct{ a *app }

func (e cacheEvaluator) Evaluate(ctx context.Context) (cache.Report, error) {
	pairs, _, err := cache.ParsePairs(bytes.NewReader(cachefix.PairsTSV), "fixtures/cache/pairs.tsv", cache.PairsOptions{})
	if err != nil {
		return cache.Report{}, err
	}
	lookup, _, err := e.a.CacheLookup(ctx)
	if err != nil {
		return cache.Report{}, err
	}
	return cache.Evaluate(ctx, pairs, e.a.cfg.Cache.Threshold, lookup)
}
