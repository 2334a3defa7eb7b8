package serve

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

const waitLong = 10 * time.Second // generous for -race on two busy cores; a pass is much faster

func TestPlaygroundOverSSH(t *testing.T) {
	s := startServer(t, Config{})
	c := s.mustDial(t)
	tm := openTerm(t, c, 120, 40)

	// The first frame: the editor and the four plan panes.
	at := tm.waitFor(t, 0, "Compression", waitLong)
	for _, title := range []string{"Route", "Cache", "Cost"} {
		tm.waitFor(t, 0, title, waitLong)
	}
	tm.waitFor(t, 0, "alice", waitLong) // the header names the user from authorized_keys

	// Typing plans: the editor title gains the token count of the prompt
	// as the real tokenizer counts it.
	prompt := "Explain the difference between TCP and UDP"
	tm.send(t, prompt)
	want := testPlanner(t).Tokens.ForModel("gpt-4o").Count(prompt).Tokens
	at = tm.waitFor(t, at, "tokens (o200k_base)", waitLong)
	if !strings.Contains(tm.stripped(0), "· "+strconv.Itoa(want)+" tokens (o200k_base)") {
		t.Errorf("plan for %d tokens not shown:\n%s", want, tm.stripped(0))
	}

	// A window change redraws the whole screen at the new size.
	if err := tm.sess.WindowChange(30, 90); err != nil {
		t.Fatal(err)
	}
	tm.waitFor(t, at, "Compression", waitLong)

	// ctrl+c quits the program and ends the session cleanly.
	tm.send(t, "\x03")
	if err := tm.waitExit(waitLong); err != nil {
		t.Fatalf("exit: %v", err)
	}
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if len(s.h.sessions) != 1 || s.h.sessions[0].User != "alice" || !strings.HasPrefix(s.h.sessions[0].Fingerprint, "SHA256:") ||
		s.h.sessions[0].Demo {
		t.Errorf("sessions = %+v", s.h.sessions)
	}
}

func TestCLIWithoutPTY(t *testing.T) {
	s := startServer(t, Config{})
	c := s.mustDial(t)

	out, errOut, status := run(t, c, `plan --json "What is the capital of France?"`)
	if status != 0 {
		t.Fatalf("plan: status %d, stderr %q", status, errOut)
	}
	var p struct {
		Input struct {
			Tokens int `json:"tokens"`
		} `json:"input"`
		Route struct {
			Model string `json:"model"`
		} `json:"route"`
		Cost struct {
			BaselineUSD float64 `json:"baseline_usd"`
		} `json:"cost"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan output is not JSON: %v\n%s", err, out)
	}
	if p.Input.Tokens == 0 || p.Route.Model != "gpt-4o-mini" || p.Cost.BaselineUSD <= 0 {
		t.Errorf("plan = %+v", p)
	}

	for _, cmd := range []string{"send hello", "prices import x", "prices", "rm -rf /", "serve --demo", "scenario /etc/passwd", "plan --db /tmp/x.db hi", ""} {
		_, errOut, status := run(t, c, cmd)
		if status != 2 || !strings.Contains(errOut, "penny:") {
			t.Errorf("%q: status %d, stderr %q; want 2 and a reason", cmd, status, errOut)
		}
	}
	out, _, status = run(t, c, "prices list")
	if status != 0 || !strings.Contains(out, "ran prices list as alice") {
		t.Errorf("prices list: %d %q", status, out)
	}
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	// Only the whitelisted commands reached the handler, with the
	// shell-style quoting undone.
	if len(s.h.cliCalls) != 2 || s.h.cliCalls[0][2] != "What is the capital of France?" {
		t.Errorf("handler saw %q", s.h.cliCalls)
	}
}

func TestAuth(t *testing.T) {
	t.Run("unknown key refused", func(t *testing.T) {
		s := startServer(t, Config{})
		if _, err := s.dial(t, "mallory", gossh.PublicKeys(newKey(t))); err == nil {
			t.Fatal("an unknown key got in")
		}
		if _, err := s.dial(t, "mallory", gossh.KeyboardInteractive(noAnswers)); err == nil {
			t.Fatal("keyboard-interactive got in without --demo")
		}
		c := s.mustDial(t) // and the known key still does
		c.Close()
	})
	t.Run("demo lets anyone in", func(t *testing.T) {
		s := startServer(t, Config{Demo: true})
		c, err := s.dial(t, "guest", gossh.PublicKeys(newKey(t)))
		if err != nil {
			t.Fatalf("demo, any key: %v", err)
		}
		c.Close()
		c, err = s.dial(t, "guest", gossh.KeyboardInteractive(noAnswers))
		if err != nil {
			t.Fatalf("demo, no key: %v", err)
		}
		defer c.Close()
		tm := openTerm(t, c, 100, 30)
		tm.waitFor(t, 0, "Compression", waitLong)
		tm.send(t, "\x03")
		if err := tm.waitExit(waitLong); err != nil {
			t.Fatal(err)
		}
		s.h.mu.Lock()
		defer s.h.mu.Unlock()
		if len(s.h.sessions) != 1 || !s.h.sessions[0].Demo || s.h.sessions[0].User != "guest" || s.h.sessions[0].Fingerprint != "" {
			t.Errorf("demo session = %+v", s.h.sessions)
		}
	})
	t.Run("failed auth limiter", func(t *testing.T) {
		s := startServer(t, Config{AuthFailures: 3})
		for i := range 3 {
			if _, err := s.dial(t, "mallory", gossh.PublicKeys(newKey(t))); err == nil {
				t.Fatalf("attempt %d: unknown key got in", i)
			}
		}
		// From this address even the right key is refused now.
		if c, err := s.dial(t, "alice"); err == nil {
			c.Close()
			t.Fatal("the limiter did not block after 3 failures")
		}
	})
}

// TestAuthSeveralKeys: a client offers every key of its agent in turn. The
// refused ones must not lock out a user whose last key is authorized, and a
// connection offering several unknown keys counts as one failure.
func TestAuthSeveralKeys(t *testing.T) {
	s := startServer(t, Config{AuthFailures: 2})
	for i := range 3 {
		c, err := s.dial(t, "alice", gossh.PublicKeys(newKey(t), newKey(t), newKey(t), s.key))
		if err != nil {
			t.Fatalf("connection %d with alice's key last: %v", i, err)
		}
		c.Close()
	}
	if _, err := s.dial(t, "mallory", gossh.PublicKeys(newKey(t), newKey(t), newKey(t))); err == nil {
		t.Fatal("unknown keys got in")
	}
	// One failed connection so far, below the limit of 2.
	c, err := s.dial(t, "alice")
	if err != nil {
		t.Fatalf("one failed connection with 3 keys counted as more than one: %v", err)
	}
	c.Close()
	if _, err := s.dial(t, "mallory", gossh.PublicKeys(newKey(t))); err == nil {
		t.Fatal("unknown key got in")
	}
	if c, err := s.dial(t, "alice"); err == nil {
		c.Close()
		t.Fatal("two failed connections did not reach the limit of 2")
	}
}

func noAnswers(string, string, []string, []bool) ([]string, error) { return nil, nil }

func TestFailureLimiterWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newFailureLimiter(2, time.Minute)
	f.now = func() time.Time { return now }
	f.record("a", "c1")
	f.record("a", "c1") // the same connection offering another key
	if !f.allowed("a") {
		t.Fatal("one connection counted twice")
	}
	now = now.Add(30 * time.Second)
	f.record("a", "c2")
	if f.allowed("a") || !f.allowed("b") {
		t.Fatal("2 failures in a minute must block a, not b")
	}
	now = now.Add(31 * time.Second) // the first failure left the window
	if !f.allowed("a") {
		t.Fatal("still blocked after the window")
	}
	now = now.Add(time.Minute)
	f.allowed("a")
	if len(f.fails) != 0 {
		t.Errorf("old failures kept: %v", f.fails)
	}
}

func TestMaxSessions(t *testing.T) {
	s := startServer(t, Config{MaxSessions: 1})
	c := s.mustDial(t)
	tm := openTerm(t, c, 100, 30)
	tm.waitFor(t, 0, "Compression", waitLong)

	c2 := s.mustDial(t)
	_, errOut, status := run(t, c2, "prices list")
	if status != 1 || !strings.Contains(errOut, "too many sessions") {
		t.Fatalf("second session: status %d, stderr %q", status, errOut)
	}
	tm.send(t, "\x03")
	if err := tm.waitExit(waitLong); err != nil {
		t.Fatal(err)
	}
	// The slot frees when the first session's handler returns.
	deadline := time.Now().Add(waitLong)
	for {
		out, _, status := run(t, c2, "prices list")
		if status == 0 && strings.Contains(out, "ran prices list") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %d %q", status, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHostKeyCreatedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "ssh", "host_ed25519")
	h := &handler{planner: testPlanner(t)}
	if _, err := New(Config{HostKeyPath: path, Demo: true}, h, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(path)
	signer, err := gossh.ParsePrivateKey(first)
	if err != nil {
		t.Fatal(err)
	}
	if signer.PublicKey().Type() != gossh.KeyAlgoED25519 {
		t.Errorf("host key type %s", signer.PublicKey().Type())
	}

	// A second server on the same path reuses the key, and clients see it.
	s := startServer(t, Config{HostKeyPath: path, Demo: true})
	again, _ := os.ReadFile(path)
	if !bytes.Equal(first, again) {
		t.Fatal("host key rewritten")
	}
	var seen gossh.PublicKey
	c, err := gossh.Dial("tcp", s.addr, &gossh.ClientConfig{User: "guest", Auth: []gossh.AuthMethod{gossh.KeyboardInteractive(noAnswers)},
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error { seen = k; return nil }, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if gossh.FingerprintSHA256(seen) != gossh.FingerprintSHA256(signer.PublicKey()) {
		t.Errorf("client saw %s, file holds %s", gossh.FingerprintSHA256(seen), gossh.FingerprintSHA256(signer.PublicKey()))
	}

	// A corrupt key file is an error, not silently replaced.
	bad := filepath.Join(dir, "bad_key")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{HostKeyPath: bad, Demo: true}, h, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt host key: %v", err)
	}
}

func TestNewNeedsAuthorizedKeysUnlessDemo(t *testing.T) {
	dir := t.TempDir()
	h := &handler{planner: testPlanner(t)}
	key := filepath.Join(dir, "host")
	if _, err := New(Config{HostKeyPath: key}, h, nil); err == nil || !strings.Contains(err.Error(), "--demo") {
		t.Errorf("no authorized_keys: %v", err)
	}
	if _, err := New(Config{HostKeyPath: key, AuthorizedKeys: filepath.Join(dir, "missing")}, h, nil); err == nil {
		t.Error("missing authorized_keys accepted")
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("# only a comment\nnot a key at all\n"), 0o600)
	if _, err := New(Config{HostKeyPath: key, AuthorizedKeys: junk}, h, nil); err == nil || !strings.Contains(err.Error(), "no valid public key") {
		t.Errorf("junk authorized_keys: %v", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, Config{ShutdownNotice: 300 * time.Millisecond})
	c := s.mustDial(t)
	tm := openTerm(t, c, 120, 40)
	at := tm.waitFor(t, 0, "Compression", waitLong)

	start := time.Now()
	s.cancel()
	tm.waitFor(t, at, "shutting down", waitLong) // the session is told
	if err := tm.waitExit(waitLong); err != nil {
		t.Fatalf("session did not end: %v", err)
	}
	c.Close() // as ssh does once its session has ended
	select {
	case err := <-s.done:
		close(s.done)
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Serve did not return")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if _, err := s.dial(t, "alice"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestIdleTimeoutClosesTheConnection(t *testing.T) {
	s := startServer(t, Config{IdleTimeout: 700 * time.Millisecond})
	c := s.mustDial(t)
	tm := openTerm(t, c, 100, 30)
	tm.waitFor(t, 0, "Compression", waitLong)
	start := time.Now()
	if err := tm.waitExit(waitLong); err == nil || strings.Contains(err.Error(), "still running") {
		t.Fatalf("idle session: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("idle session closed after %s", d)
	}
}

func TestCheckCommand(t *testing.T) {
	for _, c := range []struct {
		args string
		ok   bool
	}{
		{"plan --json hello world", true},
		{"plan --model gpt-4o -", true},
		{"scenario --json", true},
		{"scenario - --json", true},
		{"prices list", true},
		{"prices list --json", true},
		{"help", true},
		{"scenario /etc/passwd", false},
		{"scenario --json ../penny.toml", false},
		{"plan --config /etc/passwd hi", false},
		{"plan --config=/etc/passwd hi", false},
		{"plan -db /tmp/other.db hi", false},
		{"prices list --db=x", false},
		{"prices import x.json", false},
		{"prices", false},
		{"send hi", false},
		{"serve", false},
		{"replay demo.jsonl", false},
		{"eval cache --pairs /etc/shadow", false},
		{"", false},
	} {
		err := CheckCommand(strings.Fields(c.args))
		if (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.args, err, c.ok)
		}
	}
}
