package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/money"
)

// seedLoadTable stores n entries over three scopes, with the cases a load
// must carry through: entries without a vector (NULL blob, no embedder),
// entries of another embedder and dimension, pinned entries, hit counts,
// distinct meta (a negative cost included), and id gaps from deletions.
// It returns the number left.
func seedLoadTable(t *testing.T, s *CacheStore, n int) int {
	t.Helper()
	scopes := []cache.Scope{
		{Model: "gpt-4o"},
		{Model: "gpt-4o-mini", System: "be brief", Tenant: "ann"},
		{Model: "gpt-4o", Temperature: 0.5, Tools: `[{"name":"f"}]`, Source: "simulated"},
	}
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	entries := make([]cache.Entry, n)
	responses := make([]string, n)
	for i := range entries {
		e := cache.Entry{
			Key: fmt.Sprintf("key-%04d", i), Scope: scopes[i%3], Prompt: fmt.Sprintf("prompt %d", i),
			CreatedAt: now.Add(time.Duration(i) * time.Second), LastUsed: now.Add(time.Duration(n-i) * time.Minute),
			Hits: int64(i % 5), Pinned: i%11 == 0,
			Meta: cache.Meta{Model: scopes[i%3].Model, PromptTokens: i, CompletionTokens: 2 * i, Cost: money.Nanos(1000*i - 500)},
		}
		switch {
		case i%7 == 0: // not embedded
		case i%13 == 0: // another embedder, another dimension
			e.Embedder, e.Dim, e.Vector = "other-v1", 2, []float32{0.6, -0.8}
		default:
			e.Embedder, e.Dim = "test-v1", 3
			e.Vector = []float32{float32(i%10) / 10, -0.5, 0.25}
		}
		entries[i] = e
		responses[i] = fmt.Sprintf("response %d", i)
	}
	ctx := context.Background()
	ids, err := s.InsertMany(ctx, entries, responses)
	if err != nil {
		t.Fatal(err)
	}
	var gone []int64
	for i := 5; i < len(ids); i += 17 {
		gone = append(gone, ids[i])
	}
	if err := s.Delete(ctx, gone...); err != nil {
		t.Fatal(err)
	}
	return n - len(gone)
}

// collect reads a store through LoadBatches, copying what the store will
// reuse, and returns the entries by id and the size hint.
func collect(t *testing.T, s *CacheStore) ([]cache.Entry, []cache.ScopeSize) {
	t.Helper()
	var got []cache.Entry
	var sizes []cache.ScopeSize
	calls := 0
	err := s.LoadBatches(context.Background(), func(ss []cache.ScopeSize) {
		calls++
		if len(got) > 0 {
			t.Error("sizes called after a batch")
		}
		sizes = ss
	}, func(batch []cache.Entry) error {
		for _, e := range batch {
			e.Codes = slices.Clone(e.Codes)
			got = append(got, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("sizes called %d times", calls)
	}
	slices.SortFunc(got, func(a, b cache.Entry) int { return int(a.ID - b.ID) })
	return got, sizes
}

func serialEntries(t *testing.T, s *CacheStore) []cache.Entry {
	t.Helper()
	var want []cache.Entry
	if err := LoadSerialReference(context.Background(), s, func(e cache.Entry) error {
		want = append(want, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b cache.Entry) int { return int(a.ID - b.ID) })
	return want
}

func TestLoadBatchesMatchesSerialReference(t *testing.T) {
	db, _ := openCacheDB(t)
	n := seedLoadTable(t, NewCacheStore(db), 1500)
	want := serialEntries(t, NewCacheStore(db))
	if len(want) != n {
		t.Fatalf("reference read %d entries, want %d", len(want), n)
	}
	// The reference itself must see every case the table holds.
	var plain, other, pinned int
	for _, e := range want {
		switch {
		case e.Embedder == "" && e.Codes == nil:
			plain++
		case e.Embedder == "other-v1" && len(e.Codes) == 2:
			other++
		}
		if e.Pinned {
			pinned++
		}
	}
	if plain == 0 || other == 0 || pinned == 0 {
		t.Fatalf("table lacks a case: %d without vector, %d other embedder, %d pinned", plain, other, pinned)
	}
	wantSizes := map[cache.Scope]int{}
	for _, e := range want {
		wantSizes[e.Scope]++
	}

	for _, tc := range []struct {
		name             string
		readers          int
		minRange         int64
		wantRanges, free bool
	}{
		// Sixteen ranges of ~94 ids on two connections: many batches, and
		// more than the free list holds, so batches are recycled.
		{"2 readers, fine ranges", 2, 1, true, true},
		// Two ranges of ~750 ids: several batches per range.
		{"2 readers, long ranges", 2, 600, true, true},
		{"1 reader", 1, 4096, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewCacheStoreReaders(db, tc.readers, tc.minRange)
			got, sizes := collect(t, s)
			if len(got) != len(want) {
				t.Fatalf("LoadBatches read %d entries, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("entry %d:\n got %+v\nwant %+v", want[i].ID, got[i], want[i])
				}
			}
			gotSizes := map[cache.Scope]int{}
			for _, ss := range sizes {
				gotSizes[ss.Scope] += ss.N
			}
			if !reflect.DeepEqual(gotSizes, wantSizes) {
				t.Fatalf("sizes %v, want %v", gotSizes, wantSizes)
			}
			// Load (entries kept by the caller, nothing recycled) agrees too.
			var viaLoad []cache.Entry
			if err := s.Load(context.Background(), func(e cache.Entry) error {
				viaLoad = append(viaLoad, e)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(viaLoad, func(a, b cache.Entry) int { return int(a.ID - b.ID) })
			if !reflect.DeepEqual(viaLoad, want) {
				t.Fatal("Load differs from the reference")
			}
		})
	}
}

func TestLoadBatchesEmpty(t *testing.T) {
	db, _ := openCacheDB(t)
	got, sizes := collect(t, NewCacheStoreReaders(db, 2, 1))
	if len(got) != 0 || len(sizes) != 0 {
		t.Fatalf("empty table: %d entries, sizes %v", len(got), sizes)
	}
}

func TestLoadBatchesCancelled(t *testing.T) {
	db, _ := openCacheDB(t)
	seedLoadTable(t, NewCacheStore(db), 1500)
	s := NewCacheStoreReaders(db, 2, 1)

	// Cancelled before it starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.LoadBatches(ctx, nil, func([]cache.Entry) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("pre-cancelled load: %v", err)
	}

	// Cancelled while batches arrive: the readers stop, and the load
	// returns ctx's error rather than a partial success.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	err = s.LoadBatches(ctx, nil, func([]cache.Entry) error {
		if batches++; batches == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("load cancelled after %d batches: %v", batches, err)
	}

	// An error from fn is returned as is.
	stop := errors.New("stop")
	if err := s.LoadBatches(context.Background(), nil, func([]cache.Entry) error { return stop }); err != stop {
		t.Fatalf("fn error: %v", err)
	}
}

func TestLoadBatchesCorruptRow(t *testing.T) {
	for _, tc := range []struct {
		name, update, want string
	}{
		{"short vector", `UPDATE cache_entries SET vector = X'0000803F01' WHERE id = ?`, "vector blob has 5 bytes, want 4+3"},
		{"vector without embedder", `UPDATE cache_entries SET embedder_id = NULL WHERE id = ?`, "vector blob of 7 bytes without an embedder"},
		{"short meta", `UPDATE cache_entries SET meta = X'00' WHERE id = ?`, "meta blob has 1 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openCacheDB(t)
			seedLoadTable(t, NewCacheStore(db), 300)
			var id int64
			if err := db.SQL().QueryRow(`SELECT e.id FROM cache_entries e JOIN cache_embedders m ON m.id = e.embedder_id
				WHERE m.dim = 3 ORDER BY e.id DESC LIMIT 1`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SQL().Exec(tc.update, id); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*CacheStore{NewCacheStoreReaders(db, 2, 1), NewCacheStore(db)} {
				err := s.LoadBatches(context.Background(), nil, func([]cache.Entry) error { return nil })
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry %d: %s", id, tc.want)) {
					t.Fatalf("corrupt entry %d: %v", id, err)
				}
			}
			// The cache refuses the load and stays unloaded (exact lookups
			// still go to the store).
			c, err := cache.New(cache.DefaultConfig(), NewCacheStore(db), cacheWordEmbedder{3}, cacheCosineJudge{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Load(context.Background()); err == nil || c.Ready() {
				t.Fatalf("cache loaded a corrupt table: %v", err)
			}
		})
	}
}

// TestMigrationMovesCacheColumns builds a database at schema version 3
// with entries in the old layout and checks that opening it (migration
// 0004) keeps every entry, response and id, and the id high-water mark.
func TestMigrationMovesCacheColumns(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/penny.db"
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version > 3 {
			break
		}
		if _, err := raw.Exec(m.body); err != nil {
			t.Fatal(m.name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_version VALUES (?, ?, 'test')`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	const old = `INSERT INTO cache_entries (id, key, scope_id, prompt, response, embedder, dim, vector, created_at, last_used,
		hits, pinned, meta_model, prompt_tokens, completion_tokens, cost_nanos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO cache_scopes (id, fingerprint, model, system, tenant) VALUES (1, 'fp1', 'gpt-4o', 'sys', ''), (2, 'fp2', 'mini', '', 'ann')`, nil},
		{old, []any{3, "k3", 1, "three", "r3", "emb", 3, encodeVector([]float32{0.6, 0, 0.8}), 30, 31, 2, 0, "gpt-4o", 11, 12, 13}},
		{old, []any{5, "k5", 2, "five", "r5", "", 0, nil, 50, 55, 0, 1, "", 0, 0, -7}},
		{old, []any{8, "k8", 2, "eight", "r8", "emb2", 2, encodeVector([]float32{1, 0}), 80, 80, 1, 0, "mini", 1 << 40, 3, 1 << 50}},
		{old, []any{9, "k9", 1, "nine", "r9", "emb", 3, encodeVector([]float32{0, 1, 0}), 90, 90, 0, 0, "gpt-4o", 1, 2, 3}},
		// Entry 9, the newest, is evicted: its id must not come back.
		{`DELETE FROM cache_entries WHERE id = 9`, nil},
	} {
		if _, err := raw.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := NewCacheStoreReaders(db, 2, 1)
	got, _ := collect(t, s)
	if !reflect.DeepEqual(got, serialEntries(t, s)) {
		t.Fatal("LoadBatches differs from the reference after the migration")
	}
	gpt := cache.Scope{Model: "gpt-4o", System: "sys"}
	mini := cache.Scope{Model: "mini", Tenant: "ann"}
	want := []struct {
		id               int64
		scope            cache.Scope
		embedder         string
		dim              int
		hits             int64
		pinned           bool
		meta             cache.Meta
		created, lastUse int64
	}{
		{3, gpt, "emb", 3, 2, false, cache.Meta{Model: "gpt-4o", PromptTokens: 11, CompletionTokens: 12, Cost: 13}, 30, 31},
		{5, mini, "", 0, 0, true, cache.Meta{Cost: -7}, 50, 55},
		{8, mini, "emb2", 2, 1, false, cache.Meta{Model: "mini", PromptTokens: 1 << 40, CompletionTokens: 3, Cost: 1 << 50}, 80, 80},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries after migration, want %d", len(got), len(want))
	}
	for i, w := range want {
		e := got[i]
		if e.ID != w.id || e.Scope != w.scope || e.Embedder != w.embedder || e.Dim != w.dim || len(e.Codes) != w.dim ||
			e.Hits != w.hits || e.Pinned != w.pinned || e.Meta != w.meta ||
			e.CreatedAt.UnixNano() != w.created || e.LastUsed.UnixNano() != w.lastUse {
			t.Fatalf("entry %d after migration: %+v", w.id, e)
		}
		if r, err := s.Response(ctx, w.id); err != nil || r != fmt.Sprint("r", w.id) {
			t.Fatalf("response %d: %q %v", w.id, r, err)
		}
	}
	if e, r, ok, err := s.Get(ctx, "k3"); err != nil || !ok || r != "r3" || len(e.Vector) != 3 {
		t.Fatalf("get after migration: %+v %q %v %v", e, r, ok, err)
	}
	id, _, err := s.Insert(ctx, cache.Entry{Key: "new", Scope: gpt, Prompt: "new", CreatedAt: time.Unix(0, 100)}, "r")
	if err != nil || id != 10 {
		t.Fatalf("first id after migration %d (%v), want 10: ids are never reused", id, err)
	}
	// Deleting an entry deletes its response.
	if err := s.Delete(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var orphans int
	_ = db.SQL().QueryRow(`SELECT COUNT(*) FROM cache_responses WHERE entry_id NOT IN (SELECT id FROM cache_entries)`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d orphaned responses", orphans)
	}
}

// TestLoadBatchesOneScopeSizes covers the size hint's shortcut: with one
// scope stored, its size is the table's count.
func TestLoadBatchesOneScopeSizes(t *testing.T) {
	db, _ := openCacheDB(t)
	s := NewCacheStoreReaders(db, 2, 1)
	sc := cache.Scope{Model: "gpt-4o", System: "only"}
	for i := range 5 {
		if _, _, err := s.Insert(context.Background(), cache.Entry{Key: fmt.Sprint(i), Scope: sc, Prompt: "p", CreatedAt: time.Unix(int64(i), 0)}, "r"); err != nil {
			t.Fatal(err)
		}
	}
	got, sizes := collect(t, s)
	if len(got) != 5 || !reflect.DeepEqual(sizes, []cache.ScopeSize{{Scope: sc, N: 5}}) {
		t.Fatalf("%d entries, sizes %+v", len(got), sizes)
	}
}
