package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/history"
)

// TestMain doubles as a second process for the locking tests: when
// PENNY_STORAGE_CHILD is set, the test binary acts as another penny process
// holding the database.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PENNY_STORAGE_CHILD"); mode != "" {
		os.Exit(child(mode, os.Getenv("PENNY_STORAGE_DB")))
	}
	os.Exit(m.Run())
}

func child(mode, path string) int {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	tx, err := db.SQL().BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock now
	if err != nil {
		fmt.Println("begin:", err)
		return 1
	}
	n := 1
	if mode == "die-mid-write" {
		n = 500
	}
	for i := 0; i < n; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO history(created_at, prompt, model, plan_json) VALUES ('2026-01-01T00:00:00Z', ?, 'gpt-4o', '{}')`,
			fmt.Sprintf("child %d", i)); err != nil {
			fmt.Println("insert:", err)
			return 1
		}
	}
	fmt.Println("holding")
	// Wait for the parent: it closes our stdin to let us commit, or kills us.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	if err := tx.Commit(); err != nil {
		fmt.Println("commit:", err)
		return 1
	}
	return 0
}

func startChild(t *testing.T, mode, path string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PENNY_STORAGE_CHILD="+mode, "PENNY_STORAGE_DB="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "holding\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("child did not take the lock: %q %v", line, err)
	}
	return cmd, func() { stdin.Close() }
}

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "penny.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestMigrationsAndHistory(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	v, err := db.Version(ctx)
	if err != nil || v < 1 {
		t.Fatalf("version = %d, %v", v, err)
	}
	id, err := db.AddHistory(ctx, history.Entry{Prompt: "What is 2+2?", Model: "gpt-4o", Routed: "gpt-4o-mini", Cache: "miss", PlanJSON: "{}", ProjectedNanos: 1234})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddHistory(ctx, history.Entry{Prompt: "100% of_it", Model: "claude-3-haiku", PlanJSON: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetLabel(ctx, id, history.WeakOK); err != nil {
		t.Fatal(err)
	}
	if err := db.SetLabel(ctx, id, "bogus"); err == nil {
		t.Error("bogus label accepted")
	}
	if err := db.SetActual(ctx, id, 999); err != nil {
		t.Fatal(err)
	}
	if err := db.SetActual(ctx, 12345, 1); err == nil {
		t.Error("SetActual on a missing entry succeeded")
	}
	// Reopen: migrations are not applied twice and data persists.
	db.Close()
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	all, err := db2.ListHistory(ctx, history.Query{})
	if err != nil || len(all) != 2 {
		t.Fatalf("list = %d entries, %v", len(all), err)
	}
	if all[0].Prompt != "100% of_it" {
		t.Errorf("not newest first: %q", all[0].Prompt)
	}
	e := all[1]
	if e.Label != history.WeakOK || e.ActualNanos == nil || *e.ActualNanos != 999 || e.ProjectedNanos != 1234 || e.Routed != "gpt-4o-mini" {
		t.Errorf("round trip lost data: %+v", e)
	}
	// LIKE wildcards in the filter are literal.
	got, _ := db2.ListHistory(ctx, history.Query{Contains: "0% of_"})
	if len(got) != 1 {
		t.Errorf("filter with wildcards matched %d", len(got))
	}
	got, _ = db2.ListHistory(ctx, history.Query{Contains: "_"})
	if len(got) != 1 {
		t.Errorf("filter '_' matched %d, want 1", len(got))
	}
	got, _ = db2.ListHistory(ctx, history.Query{Labelled: true})
	if len(got) != 1 || got[0].ID != id {
		t.Errorf("labelled filter: %+v", got)
	}
}

// Another process holds the write lock: the write fails with ErrLocked after
// the busy timeout (a clear error, not a hang), and succeeds once the lock
// is released; the other process's write is kept too.
func TestLockedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	_, path := openTemp(t)
	db, err := open(ctx, path, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cmd, release := startChild(t, "hold-lock", path)
	start := time.Now()
	_, err = db.AddHistory(ctx, history.Entry{Prompt: "mine", Model: "gpt-4o", PlanJSON: "{}"})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("write under lock: got %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for the lock, want about the busy timeout", waited)
	}
	release()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if _, err := db.AddHistory(ctx, history.Entry{Prompt: "mine", Model: "gpt-4o", PlanJSON: "{}"}); err != nil {
		t.Fatalf("write after release: %v", err)
	}
	n, err := db.CountHistory(ctx)
	if err != nil || n != 2 {
		t.Errorf("count = %d, %v; want the child's row and ours", n, err)
	}
}

// A process killed in the middle of a write transaction leaves the database
// consistent: the committed rows are there, the partial write is not.
func TestInterruptedWrite(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	if _, err := db.AddHistory(ctx, history.Entry{Prompt: "before", Model: "gpt-4o", PlanJSON: "{}"}); err != nil {
		t.Fatal(err)
	}
	cmd, _ := startChild(t, "die-mid-write", path)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	db.Close()

	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var check string
	if err := db2.SQL().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	n, err := db2.CountHistory(ctx)
	if err != nil || n != 1 {
		t.Errorf("count = %d, %v; want only the committed row", n, err)
	}
	if _, err := db2.AddHistory(ctx, history.Entry{Prompt: "after", Model: "gpt-4o", PlanJSON: "{}"}); err != nil {
		t.Errorf("write after crash: %v", err)
	}
}

// A path with URL metacharacters opens that very file.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b#c?d")
	path := filepath.Join(dir, "p.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.AddHistory(context.Background(), history.Entry{Prompt: "x", Model: "gpt-4o", PlanJSON: "{}"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}
