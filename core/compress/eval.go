package compress

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/tokens"
)

// PassReport sums one pass over an evaluation set.
type PassReport struct {
	Name        string `json:"name"`
	Lossy       bool   `json:"lossy"`
	TokensSaved int    `json:"tokens_saved"`
	Applied     int    `json:"applied"`  // prompts on which the pass saved tokens
	Rejected    int    `json:"rejected"` // edits dropped by the protection guard
}

// Report is the result of `penny eval compress`.
type Report struct {
	Prompts       int          `json:"prompts"`
	TokensBefore  int          `json:"tokens_before"`
	TokensAfter   int          `json:"tokens_after"`
	Ratio         float64      `json:"ratio"` // tokens_after / tokens_before
	SavedPct      float64      `json:"saved_pct"`
	Passes        []PassReport `json:"passes"`
	ProtectedKept float64      `json:"protected_kept"` // share of protected units found verbatim in the output
	// ProtectedUnits counts distinct units per prompt, summed; Lost lists
	// the first few that were not kept (empty when protected_kept is 1).
	ProtectedUnits int      `json:"protected_units"`
	Lost           []string `json:"lost,omitempty"`
	// Idempotent is false if compressing any output again changed it;
	// NonIdempotent counts those prompts.
	Idempotent     bool        `json:"idempotent"`
	NonIdempotent  int         `json:"non_idempotent"`
	ExtraCostNanos money.Nanos `json:"extra_cost_nanos"`
	ExtraTokens    int         `json:"extra_tokens"`
}

// Evaluate compresses every prompt and sums the figures. Protection is
// checked independently of the pipeline (CheckProtected on input and
// output), and each output is compressed again to check idempotence.
func Evaluate(ctx context.Context, c *Compressor, prompts []string, counter tokens.Counter) (Report, error) {
	r := Report{Prompts: len(prompts), Idempotent: true}
	idx := map[string]int{}
	kept := 0
	for i, p := range prompts {
		res, err := c.Compress(ctx, p, counter)
		if err != nil {
			return Report{}, fmt.Errorf("prompt %d: %w", i+1, err)
		}
		r.TokensBefore += res.TokensBefore
		r.TokensAfter += res.Tokens
		r.ExtraCostNanos += res.ExtraCostNanos
		r.ExtraTokens += res.ExtraTokens
		for _, pr := range res.Passes {
			k, ok := idx[pr.Name]
			if !ok {
				k = len(r.Passes)
				idx[pr.Name] = k
				r.Passes = append(r.Passes, PassReport{Name: pr.Name, Lossy: pr.Lossy})
			}
			r.Passes[k].TokensSaved += pr.TokensSaved
			r.Passes[k].Rejected += pr.Rejected
			if !pr.Skipped {
				r.Passes[k].Applied++
			}
		}
		chk := CheckProtected(p, res.Text)
		r.ProtectedUnits += chk.Units
		kept += chk.Kept
		for _, u := range chk.Missing {
			if len(r.Lost) < 10 {
				r.Lost = append(r.Lost, fmt.Sprintf("prompt %d: %s %q", i+1, u.Kind, u.Text))
			}
		}
		// A relative budget halves again on every run by definition; the
		// fixed point to check is "same budget, nothing left to do".
		c2 := c
		if c.cfg.BudgetRatio > 0 {
			c2 = c.withBudget(c.budget(res.TokensBefore))
		}
		again, err := c2.Compress(ctx, res.Text, counter)
		if err != nil {
			return Report{}, fmt.Errorf("prompt %d (second run): %w", i+1, err)
		}
		if again.Text != res.Text {
			r.Idempotent = false
			r.NonIdempotent++
		}
	}
	if r.TokensBefore > 0 {
		r.Ratio = float64(r.TokensAfter) / float64(r.TokensBefore)
		r.SavedPct = 100 * float64(r.TokensBefore-r.TokensAfter) / float64(r.TokensBefore)
	}
	r.ProtectedKept = 1
	if r.ProtectedUnits > 0 {
		r.ProtectedKept = float64(kept) / float64(r.ProtectedUnits)
	}
	return r, nil
}

// maxPromptLine bounds one JSONL line (a long prompt is still one line).
const maxPromptLine = 16 << 20

// ParsePrompts reads an eval input. name is the file name, used only to
// recognise ".jsonl". A JSONL file holds one object per line with a string
// "prompt" field; any other file is one prompt. A file that is not named
// .jsonl but whose every non-empty line is such an object is read as JSONL
// too (exports often use .json or .txt).
func ParsePrompts(r io.Reader, name string) ([]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	jsonl := strings.HasSuffix(strings.ToLower(name), ".jsonl")
	prompts, jerr := parseJSONL(data)
	switch {
	case jsonl && jerr != nil:
		return nil, fmt.Errorf("%s: %w", name, jerr)
	case jerr == nil && len(prompts) > 0:
		return prompts, nil
	case jsonl:
		return nil, fmt.Errorf("%s: no prompts", name)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	return []string{string(data)}, nil
}

func parseJSONL(data []byte) ([]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxPromptLine)
	var out []string
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec struct {
			Prompt *string `json:"prompt"`
		}
		if line[0] != '{' {
			return nil, fmt.Errorf("line %d: not a JSON object", n)
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if rec.Prompt == nil {
			return nil, fmt.Errorf("line %d: no \"prompt\" field", n)
		}
		out = append(out, *rec.Prompt)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, nil
}
