package ledger

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Export attribute names. The gen_ai.* names are OpenTelemetry's GenAI
// semantic conventions, so an export loads into tools that already speak
// them; penny's own fields live under penny.*.
const (
	AttrTime              = "time"
	AttrID                = "penny.record.id"
	AttrOperation         = "gen_ai.operation.name"
	AttrProvider          = "gen_ai.provider.name"
	AttrRequestModel      = "gen_ai.request.model"
	AttrResponseModel     = "gen_ai.response.model"
	AttrInputTokens       = "gen_ai.usage.input_tokens"
	AttrOutputTokens      = "gen_ai.usage.output_tokens"
	AttrCacheReadTokens   = "gen_ai.usage.cache_read.input_tokens"
	AttrErrorType         = "error.type"
	AttrUser              = "user.id"
	AttrBaselineModel     = "penny.baseline.model"
	AttrTier              = "penny.route.tier"
	AttrCacheOutcome      = "penny.cache.outcome"
	AttrCacheEntry        = "penny.cache.entry_id"
	AttrScope             = "penny.cache.scope"
	AttrProjectedInput    = "penny.projected.input_tokens"
	AttrProjectedOutput   = "penny.projected.output_tokens"
	AttrUsageKnown        = "penny.usage.reported"
	AttrActualUSD         = "penny.cost.actual_usd"
	AttrProjectedUSD      = "penny.cost.projected_usd"
	AttrBaselineUSD       = "penny.cost.baseline_usd"
	AttrSavingsUSD        = "penny.cost.savings_usd"
	AttrReservedUSD       = "penny.cost.reserved_usd"
	AttrActualNanos       = "penny.cost.actual_nanos"
	AttrProjectedNanos    = "penny.cost.projected_nanos"
	AttrBaselineNanos     = "penny.cost.baseline_nanos"
	AttrLatencyMS         = "penny.latency_ms"
	AttrSimulated         = "penny.simulated"
	AttrStatus            = "penny.status"
	AttrTag               = "penny.tag"
	AttrError             = "penny.error"
	operationChat         = "chat"
	errorTypeRefused      = "budget_exceeded"
	errorTypeProviderFail = "provider_error"
)

// Columns is the export's field order (CSV header, JSONL key order).
var columns = []string{
	AttrTime, AttrID, AttrOperation, AttrProvider, AttrRequestModel, AttrResponseModel,
	AttrInputTokens, AttrOutputTokens, AttrCacheReadTokens, AttrErrorType, AttrUser,
	AttrBaselineModel, AttrTier, AttrCacheOutcome, AttrCacheEntry, AttrScope,
	AttrProjectedInput, AttrProjectedOutput, AttrUsageKnown,
	AttrActualUSD, AttrProjectedUSD, AttrBaselineUSD, AttrSavingsUSD, AttrReservedUSD,
	AttrActualNanos, AttrProjectedNanos, AttrBaselineNanos,
	AttrLatencyMS, AttrSimulated, AttrStatus, AttrTag, AttrError,
}

// Columns returns the export's field names in order.
func Columns() []string { return append([]string(nil), columns...) }

// values is one record as typed values in column order. JSON keeps the
// types (numbers, booleans); CSV formats them.
func values(r Record) []any {
	errType := ""
	switch r.Status {
	case StatusRefused:
		errType = errorTypeRefused
	case StatusError:
		errType = errorTypeProviderFail
	}
	usd := func(n int64) float64 { return float64(n) / 1e9 }
	return []any{
		r.Time.UTC().Format(time.RFC3339Nano), r.ID, operationChat, r.Provider, r.Model, r.ResponseModel,
		r.PromptTokens, r.CompletionTokens, r.CachedPromptTokens, errType, r.User,
		r.BaselineModel, r.Tier, r.CacheOutcome, r.CacheEntryID, r.Scope,
		r.ProjectedPromptTokens, r.ProjectedCompletionTokens, r.UsageKnown,
		usd(int64(r.ActualNanos)), usd(int64(r.ProjectedNanos)), usd(int64(r.BaselineNanos)),
		usd(int64(r.BaselineNanos - r.ActualNanos)), usd(int64(r.ReservedNanos)),
		int64(r.ActualNanos), int64(r.ProjectedNanos), int64(r.BaselineNanos),
		r.LatencyMS, r.Simulated, string(r.Status), r.Tag, r.Error,
	}
}

// Exporter writes records one at a time in JSONL or CSV.
type Exporter struct {
	format string
	w      io.Writer
	csv    *csv.Writer
	n      int
}

// Formats accepted by NewExporter.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// NewExporter returns an exporter for "jsonl" or "csv".
func NewExporter(w io.Writer, format string) (*Exporter, error) {
	switch format {
	case FormatJSONL:
		return &Exporter{format: format, w: w}, nil
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(columns); err != nil {
			return nil, fmt.Errorf("ledger export: write csv header: %w", err)
		}
		return &Exporter{format: format, w: w, csv: cw}, nil
	default:
		return nil, fmt.Errorf("ledger export: unknown format %q (want jsonl or csv)", format)
	}
}

// Write appends one record.
func (e *Exporter) Write(r Record) error {
	vals := values(r)
	e.n++
	if e.csv != nil {
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = formatCSV(v)
		}
		if err := e.csv.Write(row); err != nil {
			return fmt.Errorf("ledger export: record %d: %w", r.ID, err)
		}
		return nil
	}
	// Build the object by hand so keys keep column order: diffs of two
	// exports stay readable and the first keys are the OTel ones.
	buf := make([]byte, 0, 512)
	buf = append(buf, '{')
	for i, k := range columns {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(vals[i])
		if err != nil {
			return fmt.Errorf("ledger export: record %d field %s: %w", r.ID, k, err)
		}
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, vb...)
	}
	buf = append(buf, '}', '\n')
	if _, err := e.w.Write(buf); err != nil {
		return fmt.Errorf("ledger export: record %d: %w", r.ID, err)
	}
	return nil
}

// Close flushes buffered output. It reports how many records were written.
func (e *Exporter) Close() (int, error) {
	if e.csv != nil {
		e.csv.Flush()
		if err := e.csv.Error(); err != nil {
			return e.n, fmt.Errorf("ledger export: %w", err)
		}
	}
	return e.n, nil
}

func formatCSV(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		// Shortest representation that round-trips: nano-dollar amounts
		// print without float noise.
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// Export streams every record the filter selects to w in the given format
// and returns how many were written.
func Export(ctx context.Context, s Store, f Filter, w io.Writer, format string) (int, error) {
	e, err := NewExporter(w, format)
	if err != nil {
		return 0, err
	}
	if err := s.Scan(ctx, f, e.Write); err != nil {
		n, _ := e.Close()
		return n, fmt.Errorf("ledger export: %w", err)
	}
	return e.Close()
}
