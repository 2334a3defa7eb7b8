package batch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkThroughput measures items per second through NewEach with a fake
// provider of fixed latency (a sleep, so it measures the batcher's
// scheduling rather than CPU). The ideal is Concurrency / latency; the gap
// to it is the batcher's overhead plus the max-wait coalescing delay.
func BenchmarkThroughput(b *testing.B) {
	const latency = 10 * time.Millisecond
	for _, cfg := range []Config{
		{MaxSize: 1, MaxWait: 0, Concurrency: 1},
		{MaxSize: 16, MaxWait: 5 * time.Millisecond, Concurrency: 8},
		{MaxSize: 16, MaxWait: 5 * time.Millisecond, Concurrency: 64},
		{MaxSize: 64, MaxWait: 5 * time.Millisecond, Concurrency: 256},
	} {
		name := fmt.Sprintf("size=%d/wait=%s/conc=%d", cfg.MaxSize, cfg.MaxWait, cfg.Concurrency)
		b.Run(name, func(b *testing.B) {
			bt, err := NewEach(context.Background(), cfg, func(ctx context.Context, i int) (int, error) {
				time.Sleep(latency)
				return i, nil
			})
			if err != nil {
				b.Fatal(err)
			}
			defer bt.Close(context.Background())
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			b.ResetTimer()
			for range 512 { // callers: more than any cap, so the cap binds
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := bt.Do(context.Background(), 0); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/el, "items/s")
			b.ReportMetric(float64(cfg.Concurrency)/latency.Seconds(), "ideal_items/s")
		})
	}
}
