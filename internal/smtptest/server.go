package smtptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/eventworker/eventworker/internal/testenv"
)

// Mode is how the server offers TLS.
type Mode int

const (
	// TLSOff is plain SMTP that does not offer STARTTLS.
	TLSOff Mode = iota
	// TLSStartTLS is plain SMTP that offers STARTTLS.
	TLSStartTLS
	// TLSImplicit is TLS from the first byte (smtps).
	TLSImplicit
)

// Stages of an SMTP transaction that FailNext can make fail.
const (
	// StageMail is the MAIL FROM command.
	StageMail = "mail"
	// StageRcpt is a RCPT TO command.
	StageRcpt = "rcpt"
	// StageData is the reply to the message content, after the client sent it; go-smtp answers
	// the DATA command itself with 354.
	StageData = "data"
)

// EnhancedCode is an RFC 3463 enhanced status code such as {5, 1, 1}; it is go-smtp's type.
type EnhancedCode = smtp.EnhancedCode

// Options configure a server; the zero value is plain SMTP without AUTH.
type Options struct {
	// TLS is how the server offers TLS; default TLSOff.
	TLS Mode
	// User and Pass, when User is set, are the only credentials accepted, and MAIL FROM then
	// requires AUTH (530 5.7.0 before it).
	User, Pass string
	// Mechs are the AUTH mechanisms offered (sasl.Plain, sasl.Login); default both.
	Mechs []string
	// InsecureAuth allows AUTH on a connection without TLS.
	InsecureAuth bool
}

// Received is one message as the server accepted it.
type Received struct {
	// From is the envelope sender (MAIL FROM) and To the envelope recipients (RCPT TO).
	From string
	To   []string
	// Data is the message as the client sent it after DATA: header and body, CRLF line ends.
	Data []byte
	// AuthUser and AuthMech are the authenticated user and mechanism; "" without AUTH.
	AuthUser string
	AuthMech string
	// TLS reports whether the session ran over TLS (STARTTLS or implicit).
	TLS bool
}

// errAuthRequired is the usual reply of a submission server to MAIL FROM before AUTH; go-smtp's
// own ErrAuthRequired uses 502.
var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// discardLog silences go-smtp's error log.
var discardLog = log.New(io.Discard, "", 0)

// failure makes the server answer the next n commands of a stage with err.
type failure struct {
	n   int
	err *smtp.SMTPError
}

// Server is a running test SMTP server. Its methods are safe for concurrent use.
type Server struct {
	opts   Options
	addr   string
	host   string
	port   string
	caFile string
	srv    *smtp.Server
	tlsLn  *tls.Config // wraps each listener for TLSImplicit; nil otherwise
	serves sync.WaitGroup

	mu          sync.Mutex
	msgs        []Received
	connections int
	conns       []net.Conn
	fail        map[string]*failure // by stage
	ln          net.Listener        // the listener served now; nil while stopped
	dataDelay   time.Duration       // how long the server thinks about each message
}

// Start listens on 127.0.0.1 and a free port and serves until the test ends. It fails the test
// if it cannot listen.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	return Serve(t, ln, opts)
}

// Serve serves on ln until the test ends, then closes ln and every connection. It is Start for
// a listener the test opened itself, on an address it chose.
func Serve(t testing.TB, ln net.Listener, opts Options) *Server {
	t.Helper()
	if len(opts.Mechs) == 0 {
		opts.Mechs = []string{sasl.Plain, sasl.Login}
	}
	s := &Server{opts: opts, fail: map[string]*failure{}, addr: ln.Addr().String()}
	s.host, s.port, _ = net.SplitHostPort(s.addr)
	srv := smtp.NewServer(s)
	srv.Domain = "mx.test"
	srv.ErrorLog = discardLog
	srv.AllowInsecureAuth = opts.InsecureAuth
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	if opts.TLS != TLSOff {
		p := testenv.Certificates(t)
		s.caFile = p.CAFile
		conf := &tls.Config{Certificates: []tls.Certificate{p.Leaf}, MinVersion: tls.VersionTLS12}
		if opts.TLS == TLSStartTLS {
			srv.TLSConfig = conf
		} else {
			s.tlsLn = conf
		}
	}
	s.srv = srv
	s.serve(ln)
	t.Cleanup(func() {
		s.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("smtptest: the server did not shut down: %v", err)
		}
		s.serves.Wait()
	})
	return s
}

// serve accepts connections on ln until Stop closes it.
func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	var served net.Listener = &countingListener{Listener: ln, s: s}
	if s.tlsLn != nil {
		served = tls.NewListener(served, s.tlsLn)
	}
	s.serves.Add(1)
	go func() {
		defer s.serves.Done()
		_ = s.srv.Serve(served)
	}()
}

// Stop takes the server down as a crashed or unplugged relay goes: it closes the listener, so
// that new connections are refused, and every open connection. A message whose transaction was
// under way is not stored: every message Messages returns after Stop was accepted before it.
// The messages received so far are kept; Restart serves again on the same address. Stop on a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	s.DropConnections()
}

// Restart listens on the server's address again after Stop, keeping the messages, counters and
// FailNext settings; it fails the test if the address cannot be listened on. Restart on a
// running server does nothing.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.ln != nil
	s.mu.Unlock()
	if running {
		return
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("smtptest: listen again on %s: %v", s.addr, err)
		return
	}
	s.serve(ln)
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Host is the server's IP address, 127.0.0.1 for Start.
func (s *Server) Host() string { return s.host }

// Port is the server's port.
func (s *Server) Port() string { return s.port }

// CAFile is the path of a PEM file holding the CA certificate that issued the server's
// certificate (valid for 127.0.0.1 and localhost); "" when the server does not offer TLS.
func (s *Server) CAFile() string { return s.caFile }

// URL is a mail URL for the server: scheme://userinfo@addr?query, without the userinfo and
// query parts when they are "". userinfo and query are used as given, so escape them.
func (s *Server) URL(scheme, userinfo, query string) string {
	u := scheme + "://"
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += s.addr
	if query != "" {
		u += "?" + query
	}
	return u
}

// Messages returns the messages accepted so far, in order. The caller must not modify their
// Data.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitMessages waits until the server has accepted at least n messages and returns them all;
// it fails the test if that does not happen within timeout.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: the server accepted %d messages within %s, want %d", len(msgs), timeout, n)
			return msgs // only reached with a testing.TB whose Fatalf returns
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Connections is how many TCP connections the server accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// DropConnections closes every open connection from the server's side, as a server does with
// an idle client. The server keeps accepting new ones.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// SetDataDelay makes the server take d to answer each message's content, as a slow relay does:
// a client sending in the meantime has the email in flight.
func (s *Server) SetDataDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataDelay = d
}

// FailNext makes the server answer the next n commands of stage (StageMail, StageRcpt or
// StageData), on any connection, with code, enhanced and msg, as in
// FailNext(StageRcpt, 1, 550, EnhancedCode{5, 1, 1}, "user unknown"). It replaces an earlier
// FailNext of the same stage. A failed message is not stored. It panics on an unknown stage.
func (s *Server) FailNext(stage string, n, code int, enhanced EnhancedCode, msg string) {
	switch stage {
	case StageMail, StageRcpt, StageData:
	default:
		panic(fmt.Sprintf("smtptest: FailNext: unknown stage %q", stage))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[stage] = &failure{n: n, err: &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}}
}

// takeFailure returns the error stage must answer now, if any, and counts it.
func (s *Server) takeFailure(stage string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fail[stage]
	if f == nil || f.n <= 0 {
		return nil
	}
	f.n--
	return f.err
}

// countingListener counts and keeps the accepted connections.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		l.s.mu.Lock()
		if l.s.ln == nil {
			// Accepted just before Stop closed the listener: a stopped server talks to nobody.
			l.s.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.s.connections++
		l.s.conns = append(l.s.conns, c)
		l.s.mu.Unlock()
		return c, nil
	}
}

// NewSession implements smtp.Backend; go-smtp calls it at EHLO, again after STARTTLS.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: s, tls: isTLS}, nil
}

// session is one SMTP session; it implements smtp.AuthSession.
type session struct {
	s        *Server
	tls      bool
	authUser string
	authMech string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string { return ss.s.opts.Mechs }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.s.opts.Mechs, mech) {
		return nil, smtp.ErrAuthUnknownMechanism // as a real server answers a mechanism it does not offer
	}
	check := func(user, pass string) error {
		if user != ss.s.opts.User || pass != ss.s.opts.Pass {
			return smtp.ErrAuthFailed
		}
		ss.authUser, ss.authMech = user, mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.User != "" && ss.authUser == "" {
		return errAuthRequired
	}
	if err := ss.s.takeFailure(StageMail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.takeFailure(StageRcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	delay := ss.s.dataDelay
	ss.s.mu.Unlock()
	time.Sleep(delay)
	if err := ss.s.takeFailure(StageData); err != nil {
		return err
	}
	ss.s.mu.Lock()
	if ss.s.ln == nil {
		ss.s.mu.Unlock()
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service not available"}
	}
	ss.s.msgs = append(ss.s.msgs, Received{
		From: ss.from, To: append([]string(nil), ss.to...), Data: data,
		AuthUser: ss.authUser, AuthMech: ss.authMech, TLS: ss.tls,
	})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.to = "", nil
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login), which go-sasl
// ships only as a client: it asks for the user name, then the password. A client may send the
// user name as the initial response.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if response == nil {
			return []byte("Username:"), false, nil
		}
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 1:
		l.step++
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
