package budget

import (
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/pennyllm/penny/core/batch"
)

// sample is the [budget] and [batch] text proposed for penny.toml; the test
// keeps it decodable into the Go types.
const sample = `
[budget]
# Caps in US dollars; 0 = no cap. Env: PENNY_DAILY_BUDGET_USD,
# PENNY_MONTHLY_BUDGET_USD, PENNY_REQUEST_BUDGET_USD.
daily_usd = 5.0
monthly_usd = 100.0
request_usd = 0.50
alerts_pct = [50, 80, 100]
reservation_ttl = "15m"

[batch]
enabled = false
max_size = 16
max_wait = "20ms"
concurrency = 8
`

func TestSampleTOMLDecodes(t *testing.T) {
	var f struct {
		Budget Config       `toml:"budget"`
		Batch  batch.Config `toml:"batch"`
	}
	md, err := toml.Decode(sample, &f)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("undecoded keys %v", und)
	}
	if f.Budget.DailyUSD != 5 || f.Budget.ReservationTTL != 15*time.Minute || len(f.Budget.AlertsPct) != 3 {
		t.Fatalf("budget %+v", f.Budget)
	}
	if err := f.Budget.Validate(); err != nil {
		t.Fatal(err)
	}
	if f.Batch.MaxWait != 20*time.Millisecond || f.Batch.Concurrency != 8 {
		t.Fatalf("batch %+v", f.Batch)
	}
	if err := f.Batch.Validate(); err != nil {
		t.Fatal(err)
	}
}
