package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/pennyllm/penny/core/cache"
)

// Cache is what `penny cache` manages: a *cache.Cache.
type Cache interface {
	EntriesOf(tenant string, sortBy cache.SortBy, limit int) ([]cache.EntryInfo, error)
	Stats() cache.Stats
	Pin(ctx context.Context, id int64, pinned bool) error
	Evict(ctx context.Context, id int64) error
	InvalidateAll(ctx context.Context) (int, error)
	Reembed(ctx context.Context) (int, error)
}

func runCache(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	sortBy := fs.String("sort", "hits", "ls order: hits, age, recent or lru")
	limit := fs.Int("limit", 50, "ls: at most this many entries")
	tenant := fs.String("tenant", "", "ls: entries of this tenant (demo data is tenant \"demo\")")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want a subcommand: ls, stats, pin, unpin, evict, clear or reembed")
	}
	c, err := d.Cache(ctx)
	if err != nil {
		return err
	}
	id := func() (int64, error) {
		if len(pos) != 2 {
			return 0, usagef("%s takes one entry id (see `penny cache ls`)", pos[0])
		}
		n, err := strconv.ParseInt(pos[1], 10, 64)
		if err != nil || n <= 0 {
			return 0, usagef("%q is not an entry id", pos[1])
		}
		return n, nil
	}
	switch pos[0] {
	case "ls":
		by := cache.SortBy(*sortBy)
		switch by {
		case cache.SortHits, cache.SortAge, cache.SortRecent, cache.SortLRU:
		default:
			return usagef("--sort %q: want hits, age, recent or lru", *sortBy)
		}
		entries, err := c.EntriesOf(*tenant, by, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(s.Stdout, entries)
		}
		tw := tabwriter.NewWriter(s.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\thits\tsaved\tttl left\tmodel\tprompt")
		for _, e := range entries {
			ttl := "never"
			switch {
			case e.Expired:
				ttl = "expired"
			case e.TTLLeft >= 0:
				ttl = e.TTLLeft.Round(time.Minute).String()
			}
			pin := ""
			if e.Pinned {
				pin = " (pinned)"
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s%s\t%s\t%s\n", e.ID, e.Hits, e.Saved, ttl, pin, e.Scope.Model, truncate(e.Prompt, 60))
		}
		return tw.Flush()
	case "stats":
		st := c.Stats()
		if *asJSON {
			return writeJSON(s.Stdout, st)
		}
		fmt.Fprintf(s.Stdout, "%d entries (%d pinned, %d expired, %d stale) in %d scopes; index %s; embedder %s\n",
			st.Entries, st.Pinned, st.Expired, st.Stale, st.Scopes, st.Index, st.Embedder)
		return nil
	case "pin", "unpin":
		n, err := id()
		if err != nil {
			return err
		}
		return c.Pin(ctx, n, pos[0] == "pin")
	case "evict":
		n, err := id()
		if err != nil {
			return err
		}
		return c.Evict(ctx, n)
	case "clear":
		n, err := c.InvalidateAll(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Stdout, "removed %d entries\n", n)
		return nil
	case "reembed":
		n, err := c.Reembed(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Stdout, "re-embedded %d entries with %s\n", n, c.Stats().Embedder)
		return nil
	default:
		return usagef("unknown cache subcommand %q", pos[0])
	}
}
