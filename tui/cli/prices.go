package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/pennyllm/penny/core/pricing"
)

func runPrices(ctx context.Context, d Deps, s IO, args []string) error {
	fs := flag.NewFlagSet("prices", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want a subcommand: list or import")
	}
	switch pos[0] {
	case "list":
		if len(pos) != 1 {
			return usagef("list takes no arguments")
		}
		cat := d.Catalog()
		if *asJSON {
			return writeJSON(s.Stdout, struct {
				Date   string          `json:"date"`
				Models []pricing.Model `json:"models"`
			}{cat.Date(), cat.Models()})
		}
		fmt.Fprintf(s.Stdout, "Prices per 1M tokens; catalog of %s (overrides and imports applied).\n\n", cat.Date())
		return cat.WriteTable(s.Stdout)
	case "import":
		if len(pos) != 2 {
			return usagef("import takes one file: LiteLLM's model_prices_and_context_window.json")
		}
		data, err := s.readInput(pos[1], 64<<20)
		if err != nil {
			return err
		}
		im, err := pricing.ImportLiteLLM(bytes.NewReader(data), "litellm:"+filepath.Base(pos[1]))
		if err != nil {
			return fmt.Errorf("%s: %w", pos[1], err)
		}
		if len(im.Models) == 0 {
			return fmt.Errorf("%s: no chat model with prices found (%d entries skipped); nothing imported", pos[1], im.SkippedTotal())
		}
		changed := pricing.CrossCheck(d.Catalog(), im.Models)
		path, err := d.SavePrices(ctx, im.Date, im.Models)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(s.Stdout, struct {
				pricing.Import
				SavedTo     string                 `json:"saved_to"`
				Differences []pricing.Disagreement `json:"differences_from_catalog"`
			}{im, path, changed})
		}
		if err := im.WriteSummary(s.Stdout); err != nil {
			return err
		}
		fmt.Fprintf(s.Stdout, "%d prices differ from the catalog penny had; saved to %s — it now layers over the built-in catalog (your [[prices]] overrides still win).\n", len(changed), path)
		return nil
	default:
		return usagef("unknown prices subcommand %q: want list or import", pos[0])
	}
}
