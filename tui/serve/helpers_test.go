package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/core/tokens"
	"github.com/pennyllm/penny/tui"
)

// The planner in these tests is the real plan.Planner — real token
// counting and prices — with small deterministic stages, so the SSH tests
// do not depend on the tuning of the real compressor, router or cache.

type squeeze struct{}

func (squeeze) Compress(_ context.Context, text string, c tokens.Counter) (compress.Result, error) {
	out := strings.Join(strings.Fields(text), " ")
	return compress.Result{Text: out, Tokens: c.Count(out).Tokens, TokensBefore: c.Count(text).Tokens}, nil
}

type cheapRouter struct{}

func (cheapRouter) Route(_ context.Context, r route.Request) (route.Decision, error) {
	return route.Decision{Model: "gpt-4o-mini", Tier: "cheap", Score: 0.2, Reasons: []string{"test: always cheap"}}, nil
}

type emptyCache struct{}

func (emptyCache) Lookup(context.Context, cache.Request) (cache.Result, error) {
	return cache.Result{Outcome: cache.Miss, Reason: cache.ReasonEmpty}, nil
}

var (
	plannerOnce sync.Once
	planner     *plan.Planner
	plannerErr  error
)

func testPlanner(t testing.TB) *plan.Planner {
	t.Helper()
	plannerOnce.Do(func() {
		cat, err := pricing.Embedded()
		if err != nil {
			plannerErr = err
			return
		}
		planner = &plan.Planner{Tokens: tokens.NewRegistry(), Catalog: cat, Compressor: squeeze{}, Cache: emptyCache{}, Router: cheapRouter{}}
		// Load the o200k tables now (seconds under -race), not inside an
		// SSH session waiting with a timeout.
		planner.Tokens.ForModel("gpt-4o").Count("warm up")
	})
	if plannerErr != nil {
		t.Fatal(plannerErr)
	}
	return planner
}

// handler is the fake main: the playground with the test planner and a CLI
// that knows `plan --json PROMPT` and echoes anything else it is given.
type handler struct {
	planner  *plan.Planner
	mu       sync.Mutex
	cliCalls [][]string
	sessions []Session
	sessN    atomic.Int64
}

func (h *handler) Playground(_ context.Context, s Session) (tui.Services, tui.Options, error) {
	h.mu.Lock()
	h.sessions = append(h.sessions, s)
	h.mu.Unlock()
	h.sessN.Add(1)
	return tui.Services{Planner: h.planner}, tui.Options{Baseline: "gpt-4o", CompletionTokens: 200, Debounce: 10 * time.Millisecond}, nil
}

func (h *handler) CLI(ctx context.Context, s Session, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	h.mu.Lock()
	h.cliCalls = append(h.cliCalls, args)
	h.mu.Unlock()
	if len(args) == 3 && args[0] == "plan" && args[1] == "--json" {
		p, err := h.planner.Plan(ctx, args[2], plan.Options{Baseline: "gpt-4o", CompletionTokens: 200})
		if err != nil {
			fmt.Fprintln(stderr, "penny:", err)
			return 1
		}
		if err := json.NewEncoder(stdout).Encode(p); err != nil {
			return 1
		}
		return 0
	}
	fmt.Fprintln(stdout, "ran", strings.Join(args, " "), "as", s.User)
	return 0
}

// server is a penny SSH server on 127.0.0.1:0 for one test.
type server struct {
	*Server
	addr   string
	cancel context.CancelFunc
	done   chan error
	h      *handler
	key    gossh.Signer // alice's key, in authorized_keys
	dir    string
}

func newKey(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer starts a server; cfg's HostKeyPath and AuthorizedKeys are
// filled in when empty. It is shut down when the test ends.
func startServer(t testing.TB, cfg Config) *server {
	t.Helper()
	dir := t.TempDir()
	key := newKey(t)
	if cfg.HostKeyPath == "" {
		cfg.HostKeyPath = filepath.Join(dir, "data", "host_ed25519")
	}
	if cfg.AuthorizedKeys == "" && !cfg.Demo {
		cfg.AuthorizedKeys = filepath.Join(dir, "authorized_keys")
		line := "# penny test keys\n\n" + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(key.PublicKey()))) + " alice\n"
		if err := os.WriteFile(cfg.AuthorizedKeys, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.ShutdownNotice == 0 {
		cfg.ShutdownNotice = 100 * time.Millisecond
	}
	h := &handler{planner: testPlanner(t)}
	srv, err := New(cfg, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Server: srv, addr: l.Addr().String(), cancel: cancel, done: make(chan error, 1), h: h, key: key, dir: dir}
	go func() { s.done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the server and waits for Serve to return.
func (s *server) stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Error("Serve did not return within 10s of cancel")
		return errors.New("timeout")
	}
}

func (s *server) dial(t testing.TB, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	t.Helper()
	if len(auth) == 0 {
		auth = []gossh.AuthMethod{gossh.PublicKeys(s.key)}
	}
	return gossh.Dial("tcp", s.addr, &gossh.ClientConfig{
		User: user, Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
}

func (s *server) mustDial(t testing.TB) *gossh.Client {
	t.Helper()
	c, err := s.dial(t, "alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run executes a command in a session without a PTY.
func run(t testing.TB, c *gossh.Client, cmd string) (stdout, stderr string, status int) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var o, e bytes.Buffer
	sess.Stdout, sess.Stderr = &o, &e
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%q: no exit within 10s", cmd)
	}
	var ee *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		status = ee.ExitStatus()
	default:
		t.Fatalf("%q: %v", cmd, err)
	}
	return o.String(), e.String(), status
}

// term is a PTY session and everything it has printed so far.
type term struct {
	sess  *gossh.Session
	stdin io.WriteCloser
	mu    sync.Mutex
	cond  *sync.Cond
	out   []byte
	eof   bool
}

func openTerm(t testing.TB, c *gossh.Client, w, h int) *term {
	t.Helper()
	tm, err := openTermE(c, w, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.sess.Close() })
	return tm
}

// openTermE requests a PTY of w×h and starts the shell (the playground).
// The caller closes tm.sess.
func openTermE(c *gossh.Client, w, h int) (*term, error) {
	sess, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	fail := func(what string, err error) (*term, error) {
		sess.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		return fail("pty", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return fail("stdin", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return fail("stdout", err)
	}
	tm := &term{sess: sess, stdin: stdin}
	tm.cond = sync.NewCond(&tm.mu)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := stdout.Read(buf)
			tm.mu.Lock()
			tm.out = append(tm.out, buf[:n]...)
			if err != nil {
				tm.eof = true
			}
			tm.cond.Broadcast()
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := sess.Shell(); err != nil {
		return fail("shell", err)
	}
	return tm, nil
}

// mark is a position in the output; waitFor looks only after it.
func (tm *term) mark() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return len(tm.out)
}

// waitFor waits until the output after from, stripped of escape
// sequences, contains want; it returns the position just after the match
// in the raw output.
func (tm *term) waitFor(t testing.TB, from int, want string, timeout time.Duration) int {
	t.Helper()
	end, err := tm.wait(from, want, timeout)
	if err != nil {
		t.Fatalf("%v; output after mark (stripped):\n%s", err, tm.stripped(from))
	}
	return end
}

func (tm *term) wait(from int, want string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		tm.mu.Lock()
		tm.cond.Broadcast()
		tm.mu.Unlock()
	})
	defer stop.Stop()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for {
		// Escape sequences are stripped from the raw bytes after from;
		// the renderer writes a changed run of cells as plain text, so a
		// freshly drawn string is contiguous once styles are removed.
		if strings.Contains(ansi.Strip(string(tm.out[from:])), want) {
			return len(tm.out), nil
		}
		if tm.eof {
			return 0, fmt.Errorf("session ended before %q appeared", want)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%q did not appear within %s", want, timeout)
		}
		tm.cond.Wait()
	}
}

func (tm *term) stripped(from int) string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	s := ansi.Strip(string(tm.out[from:]))
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

func (tm *term) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(tm.stdin, s); err != nil {
		t.Fatal(err)
	}
}

// waitExit waits for the session to end and returns its error.
func (tm *term) waitExit(timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- tm.sess.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("session still running after %s", timeout)
	}
}
