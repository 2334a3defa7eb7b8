// Package cli is penny's non-interactive face: the subcommands of ARCHITECTURE.md
// (plan, scenario, prices, eval, send, ledger, replay). It depends on core
// only; main supplies the services through Deps, and the SSH server reuses
// Run for sessions without a terminal.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/config"
	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/replay"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/tokens"
)

// Deps are the services commands use. main implements it, opening storage
// and providers lazily so that commands that need neither (scenario, prices
// list) start instantly and work without a writable data directory.
type Deps interface {
	Config() config.Config
	Catalog() *pricing.Catalog
	Planner(ctx context.Context) (*plan.Planner, error)
	// SavePrices stores imported models as a catalog layer and reports where.
	SavePrices(ctx context.Context, date string, models []pricing.Model) (string, error)
	// Sender executes plans; main's sender also records history.
	Sender(ctx context.Context) (Sender, error)
	// Ledger is the cost ledger.
	Ledger(ctx context.Context) (ledger.Store, error)
	// Tokens counts tokens per model.
	Tokens() *tokens.Registry
	// Replay returns a pipeline for replays: a fresh cache (simulated
	// answers must never reach the real one), the simulated provider, the
	// real ledger under the "replay" tag. The closer releases what the
	// replay holds (the cache, its index and judge; it writes what the
	// ledger still buffers first): the caller closes it when the run ends,
	// whatever the outcome, and uses neither the planner nor the executor
	// afterwards.
	Replay(ctx context.Context) (replay.Planner, replay.Executor, io.Closer, error)
	// CacheLookup answers "would a fresh cache holding only a serve b?"
	// with the default embedder and guards, at threshold 0 (the evaluation
	// applies thresholds itself), and names the similarity scale.
	CacheLookup(ctx context.Context) (cache.LookupFunc, string, error)
	// EvalRouter is the configured router, with a learned signal from
	// examples when there are any.
	EvalRouter(ctx context.Context, examples []route.Example) (*route.Router, error)
	// Cache is the response cache, loaded.
	Cache(ctx context.Context) (Cache, error)
	// Scope is the cache scope of this user's requests (tenant, whether
	// the simulator answers); Model is filled by the planner.
	Scope(ctx context.Context) (cache.Scope, error)
}

// IO is a command's standard streams.
type IO struct {
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	IsTerminal bool // stdout is a terminal (progress bars, colour)
	// Open opens a file named on the command line. Nil means files are not
	// available (SSH sessions): only "-" (stdin) can be read.
	Open func(name string) (io.ReadCloser, error)
}

// readInput reads a named file, or stdin for "-", refusing more than limit
// bytes.
func (s IO) readInput(name string, limit int64) ([]byte, error) {
	if name == "-" {
		return readAllLimited(s.Stdin, limit, "standard input")
	}
	if s.Open == nil {
		return nil, fmt.Errorf("%s: reading files is not available here; pipe the content to standard input and pass -", name)
	}
	f, err := s.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, limit, name)
}

// UsageError marks a mistake in the command line; Run prints the command's
// usage after it and exits with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, d Deps, io IO, args []string) error
}

func commands() []command {
	return []command{
		{"plan", "show what a prompt will cost and what penny would do", "penny plan [--model M] [--lossy] [--json] [PROMPT|-]", runPlan},
		{"scenario", "project a traffic scenario per day and per month", "penny scenario FILE [--json]", runScenario},
		{"prices", "list the price catalog or import a LiteLLM price map", "penny prices list [--json] | penny prices import FILE", runPrices},
		{"send", "execute a plan: cache, route, compress, call; record actual cost", "penny send [--model M] [--lossy] [--json] [PROMPT|-]", runSend},
		{"eval", "measure compression, the cache or the router on labelled data", "penny eval compress FILE... | eval cache --pairs FILE [--threshold T] | eval route --data FILE... [--train FILE...]  [--json]", runEval},
		{"replay", "replay traffic through the full pipeline offline and report the savings", "penny replay FILE [--json] [--requests-per-day N] [--strict]", runReplay},
		{"cache", "inspect and manage the response cache", "penny cache ls [--sort hits|age|recent|lru] [--limit N] [--tenant T] | stats | pin ID | unpin ID | evict ID | clear | reembed  [--json]", runCache},
		{"ledger", "report or export what was sent and what it cost", "penny ledger report [--json] [--days N] [--tag T] | penny ledger export [--format jsonl|csv]", runLedger},
	}
}

// Run executes one subcommand and returns the process exit status: 0 on
// success, 1 on failure, 2 on a usage error. Errors go to stderr as one
// short line (plus detail lines when the error has several).
func Run(ctx context.Context, d Deps, io IO, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(io.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, d, io, args[1:])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(io.Stdout, "usage: %s\n", c.usage)
			return 0
		}
		fmt.Fprintf(io.Stderr, "penny %s: %v\n", c.name, err)
		var ue *UsageError
		if errors.As(err, &ue) {
			fmt.Fprintf(io.Stderr, "usage: %s\n", c.usage)
			return 2
		}
		return 1
	}
	fmt.Fprintf(io.Stderr, "penny: unknown command %q (try `penny help`)\n", args[0])
	return 2
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "penny — see what a prompt will cost before you send it.")
	fmt.Fprintln(w, "\nusage: penny [--config PATH] [--db PATH] [command]")
	fmt.Fprintln(w, "\nWithout a command penny opens the playground. Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n            %s\n", c.name, c.summary, c.usage)
	}
	fmt.Fprintf(w, "  %-9s %s\n            %s\n", "serve", "the playground over SSH (wish)", "penny serve [--listen ADDR] [--demo]")
}

// parseFlags parses flags that may appear before, between or after
// positional arguments ("penny scenario FILE --json" works as well as
// "penny scenario --json FILE"). A lone "-" is a positional (stdin);
// "--" ends flag parsing.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readAllLimited reads at most limit bytes and fails beyond, so a huge file
// or pipe is refused with a clear error instead of exhausting memory.
func readAllLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB", what, limit>>20)
	}
	return data, nil
}
