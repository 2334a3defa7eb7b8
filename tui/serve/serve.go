// Package serve runs the playground over SSH with wish: one Bubble Tea
// program per PTY session, built by the same root-model constructor as a
// local run, and the read-only CLI for sessions without a terminal.
package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pennyllm/penny/tui"
	"github.com/pennyllm/penny/tui/common"
)

// Config are the server's settings.
type Config struct {
	Listen         string        // address, default 127.0.0.1:2222
	HostKeyPath    string        // ed25519 host key, created (mode 0600) on first start
	AuthorizedKeys string        // authorized_keys file; required unless Demo
	Demo           bool          // anyone may connect; sends are simulated, edits are not saved
	MaxSessions    int           // concurrent sessions; further ones are turned away
	IdleTimeout    time.Duration // a connection with no traffic for this long is closed
	AuthFailures   int           // failed authentications allowed per client address per minute
	// ShutdownNotice is how long sessions show the shutdown notice before
	// their programs are told to quit; 0 = 500ms.
	ShutdownNotice time.Duration
}

// Session describes who is connected.
type Session struct {
	User        string // configured name (authorized_keys comment) or SSH user@fingerprint
	Fingerprint string // SHA256 fingerprint of the client key; "" when none was used (demo)
	Remote      string
	Demo        bool
}

// Handler builds what a session needs. main implements it: per-session
// services (a demo session gets the simulated provider and a session
// budget), the CLI for sessions without a PTY.
type Handler interface {
	// Playground returns the services and options for one PTY session.
	Playground(ctx context.Context, s Session) (tui.Services, tui.Options, error)
	// CLI runs one command for a session without a PTY and returns its exit
	// status. Only the read-only commands of CLICommands are passed on.
	CLI(ctx context.Context, s Session, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// CLICommands are the commands a session without a PTY may run. They read
// only penny's own data and stdin; nothing reads or writes server files.
var CLICommands = []string{"plan", "scenario", "prices", "help"}

// Server is a running penny SSH server.
type Server struct {
	cfg     Config
	h       Handler
	log     *slog.Logger
	srv     *ssh.Server
	keys    map[string]string // authorized key (marshalled) -> name
	fails   *failureLimiter
	mu      sync.Mutex
	active  int
	progs   map[*tea.Program]struct{}
	closing bool
}

// New prepares a server: it loads or creates the host key and reads the
// authorized keys. Nothing listens until Serve.
func New(cfg Config, h Handler, log *slog.Logger) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:2222"
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 20
	}
	if cfg.AuthFailures <= 0 {
		cfg.AuthFailures = 10
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, h: h, log: log, keys: map[string]string{}, progs: map[*tea.Program]struct{}{},
		fails: newFailureLimiter(cfg.AuthFailures, time.Minute)}
	if !cfg.Demo {
		if err := s.loadAuthorizedKeys(); err != nil {
			return nil, err
		}
	}
	hostKey, err := loadOrCreateHostKey(cfg.HostKeyPath)
	if err != nil {
		return nil, err
	}
	opts := []ssh.Option{
		wish.WithAddress(cfg.Listen),
		wish.WithHostKeyPEM(hostKey),
		wish.WithPublicKeyAuth(s.publicKeyAuth),
		wish.WithMiddleware(
			bubbletea.MiddlewareWithProgramHandler(s.program),
			s.gate, // listed last: runs first
		),
	}
	if cfg.IdleTimeout > 0 {
		opts = append(opts, wish.WithIdleTimeout(cfg.IdleTimeout))
	}
	if cfg.Demo {
		// A stakeholder with no key at all must get in: accept the
		// keyboard-interactive method without asking anything.
		opts = append(opts, wish.WithKeyboardInteractiveAuth(func(ctx ssh.Context, _ gossh.KeyboardInteractiveChallenge) bool {
			return s.fails.allowed(remoteHost(ctx.RemoteAddr()))
		}))
	}
	srv, err := wish.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	s.srv = srv
	return s, nil
}

// Serve accepts connections on l until ctx is cancelled, then shuts down
// gracefully: every session is told, its program quits (so the user's
// terminal is restored and the client disconnects), connections get a
// short grace period and the rest are closed. Serve returns nil after a
// clean shutdown.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.closing = true
	progs := s.programs()
	s.mu.Unlock()
	// Send outside the lock: Send blocks until the program's loop takes
	// the message, and a program that is starting needs the lock.
	for _, p := range progs {
		p.Send(common.StatusMsg{Kind: common.StatusError, Text: "penny is shutting down; this session ends in a moment"})
	}
	notice := s.cfg.ShutdownNotice
	if notice <= 0 {
		notice = 500 * time.Millisecond
	}
	if len(progs) > 0 {
		time.Sleep(notice) // let the notice render before the session ends
	}
	s.mu.Lock()
	progs = s.programs()
	s.mu.Unlock()
	for _, p := range progs {
		p.Quit()
	}
	// Clients disconnect once their session has ended; Shutdown waits for
	// that, Close ends whatever is left (a client that keeps an idle
	// connection open).
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if err != nil && !errors.Is(err, ssh.ErrServerClosed) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ssh shutdown: %w", err)
	}
	if err := s.srv.Close(); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
		return fmt.Errorf("ssh close: %w", err)
	}
	return nil
}

// programs lists the running programs; s.mu must be held.
func (s *Server) programs() []*tea.Program {
	out := make([]*tea.Program, 0, len(s.progs))
	for p := range s.progs {
		out = append(out, p)
	}
	return out
}

// ListenAndServe listens on the configured address.
func (s *Server) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, l)
}

func (s *Server) loadAuthorizedKeys() error {
	if s.cfg.AuthorizedKeys == "" {
		return errors.New("no authorized_keys file configured (serve.authorized_keys); use --demo to let anyone in")
	}
	data, err := os.ReadFile(s.cfg.AuthorizedKeys)
	if err != nil {
		return fmt.Errorf("read authorized keys: %w (create it with the public keys allowed in, or use --demo)", err)
	}
	line := 0
	for len(data) > 0 {
		line++
		var rest []byte
		key, comment, _, r, err := ssh.ParseAuthorizedKey(data)
		rest = r
		if err != nil {
			// ParseAuthorizedKey skips blank and comment lines itself and
			// fails only when nothing more parses.
			if len(s.keys) == 0 {
				return fmt.Errorf("%s: no valid public key found: %w", s.cfg.AuthorizedKeys, err)
			}
			break
		}
		name := strings.TrimSpace(comment)
		if name == "" {
			name = gossh.FingerprintSHA256(key)
		}
		s.keys[string(key.Marshal())] = name
		data = rest
	}
	return nil
}

func (s *Server) publicKeyAuth(ctx ssh.Context, key ssh.PublicKey) bool {
	host := remoteHost(ctx.RemoteAddr())
	if !s.fails.allowed(host) {
		return false
	}
	if s.cfg.Demo {
		return true
	}
	if _, ok := s.keys[string(key.Marshal())]; ok {
		s.fails.succeeded(host, ctx.SessionID())
		return true
	}
	s.fails.record(host, ctx.SessionID())
	s.log.Warn("ssh auth refused", "remote", host, "user", ctx.User(), "key", gossh.FingerprintSHA256(key))
	return false
}

func (s *Server) session(sess ssh.Session) Session {
	info := Session{Remote: remoteHost(sess.RemoteAddr()), Demo: s.cfg.Demo}
	if k := sess.PublicKey(); k != nil {
		info.Fingerprint = gossh.FingerprintSHA256(k)
		if name, ok := s.keys[string(k.Marshal())]; ok {
			info.User = name
		}
	}
	if info.User == "" {
		info.User = sess.User()
		if info.Fingerprint != "" {
			info.User += "@" + info.Fingerprint
		}
	}
	return info
}

// gate admits a session: it enforces the session limit, runs the CLI for
// sessions without a PTY, and passes PTY sessions on to the playground.
func (s *Server) gate(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.mu.Lock()
		if s.closing || s.active >= s.cfg.MaxSessions {
			s.mu.Unlock()
			wish.Fatalln(sess, "penny: the server is busy (too many sessions); try again shortly")
			return
		}
		s.active++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.active--
			s.mu.Unlock()
		}()
		info := s.session(sess)
		if _, _, isPty := sess.Pty(); isPty {
			s.log.Info("ssh session", "user", info.User, "remote", info.Remote, "pty", true)
			next(sess)
			return
		}
		s.log.Info("ssh command", "user", info.User, "remote", info.Remote, "command", sess.Command())
		_ = sess.Exit(s.runCLI(sess, info))
	}
}

func (s *Server) runCLI(sess ssh.Session, info Session) int {
	args := sess.Command()
	if len(args) == 0 {
		fmt.Fprintln(sess.Stderr(), "penny: this server needs a terminal for the playground (ssh -t), or a command:", strings.Join(CLICommands, ", "))
		return 2
	}
	if err := CheckCommand(args); err != nil {
		fmt.Fprintf(sess.Stderr(), "penny: %v\n", err)
		return 2
	}
	return s.h.CLI(sess.Context(), info, args, sess, sess, sess.Stderr())
}

// CheckCommand decides whether a command may run for an SSH session
// without a PTY. Only CLICommands run ("prices list" only); no command may
// name a server path: --config and --db are refused, and scenario reads
// its file from stdin ("-" or no argument), so a remote user can read no
// file of the server's but penny's own data.
func CheckCommand(args []string) error {
	if len(args) == 0 {
		return errors.New("no command")
	}
	allowed := false
	for _, c := range CLICommands {
		allowed = allowed || args[0] == c
	}
	if args[0] == "prices" && (len(args) < 2 || args[1] != "list") {
		allowed = false
	}
	if !allowed {
		return fmt.Errorf("%q is not available over SSH; allowed: %s (prices list only)", strings.Join(args, " "), strings.Join(CLICommands, ", "))
	}
	for i, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "config" || name == "db") {
			return fmt.Errorf("%s is not available over SSH: the server's own config and database are used", a)
		}
		if args[0] == "scenario" && a != "-" && !strings.HasPrefix(a, "-") {
			return fmt.Errorf("scenario reads the scenario from stdin over SSH (ssh host scenario - < FILE), not from the server's file %q", args[i+1])
		}
	}
	return nil
}

// program builds the per-session Bubble Tea program with the shared root
// model constructor.
func (s *Server) program(sess ssh.Session) *tea.Program {
	info := s.session(sess)
	svc, opts, err := s.h.Playground(sess.Context(), info)
	if err != nil {
		wish.Fatalln(sess, "penny: cannot start the playground:", err)
		return nil
	}
	opts.User, opts.DemoSession = info.User, info.Demo
	if pty, _, ok := sess.Pty(); ok {
		// The client's environment decides colour, not the server's.
		for _, kv := range append(sess.Environ(), "TERM="+pty.Term) {
			if strings.HasPrefix(kv, "NO_COLOR=") && kv != "NO_COLOR=" {
				opts.NoColor = true
			}
		}
	}
	p := tea.NewProgram(tui.New(svc, opts), bubbletea.MakeOptions(sess)...)
	s.mu.Lock()
	s.progs[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-sess.Context().Done()
		s.mu.Lock()
		delete(s.progs, p)
		s.mu.Unlock()
	}()
	return p
}

func remoteHost(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// loadOrCreateHostKey reads the ed25519 host key, creating it with mode
// 0600 on first start so clients see the same host key every time.
func loadOrCreateHostKey(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no host key path")
	}
	data, err := os.ReadFile(path)
	if err == nil {
		if _, err := gossh.ParsePrivateKey(data); err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		return data, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "penny host key")
	if err != nil {
		return nil, err
	}
	data = pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create host key dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	return data, nil
}

// failureLimiter counts failed authentications per client address in a
// sliding window; past the limit every attempt from that address fails
// until the window has passed. A connection counts at most once, and not at
// all once it authenticates: an ssh client offers every key of its agent in
// turn, and a user with several keys must not lock themselves out.
type failureLimiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	fails  map[string][]failure // by client address, oldest first
}

// failure is one refused connection: when, and which connection (its SSH
// session id), so the same connection is counted once.
type failure struct {
	at   time.Time
	conn string
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, now: time.Now, fails: map[string][]failure{}}
}

func (f *failureLimiter) prune(host string) []failure {
	cut := f.now().Add(-f.window)
	fs := f.fails[host]
	i := 0
	for i < len(fs) && fs[i].at.Before(cut) {
		i++
	}
	fs = fs[i:]
	f.set(host, fs)
	return fs
}

func (f *failureLimiter) set(host string, fs []failure) {
	if len(fs) == 0 {
		delete(f.fails, host)
	} else {
		f.fails[host] = fs
	}
}

func (f *failureLimiter) allowed(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.prune(host)) < f.limit
}

// record counts a refused attempt of connection conn from host, once per
// connection.
func (f *failureLimiter) record(host, conn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.prune(host)
	for _, x := range fs {
		if x.conn == conn {
			return
		}
	}
	f.fails[host] = append(fs, failure{at: f.now(), conn: conn})
}

// succeeded forgets the refused attempts of a connection that then
// authenticated with another key.
func (f *failureLimiter) succeeded(host, conn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.prune(host)
	kept := fs[:0]
	for _, x := range fs {
		if x.conn != conn {
			kept = append(kept, x)
		}
	}
	f.set(host, kept)
}
