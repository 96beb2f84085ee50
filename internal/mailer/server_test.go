package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A real SMTP server (go-smtp) inside the test process, on 127.0.0.1:0.

// errAuthRequired is the usual reply of a submission server to MAIL FROM before AUTH; go-smtp's
// own ErrAuthRequired uses 502.
var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// discardLog silences go-smtp's error log.
var discardLog = log.New(io.Discard, "", 0)

// tlsMode is how the test server offers TLS.
type tlsMode int

const (
	tlsOff      tlsMode = iota // plain SMTP, no STARTTLS
	tlsStart                   // plain SMTP offering STARTTLS
	tlsImplicit                // TLS from the first byte (smtps)
)

// serverOptions configure a test server.
type serverOptions struct {
	tls tlsMode
	// user and pass, when user is set, are the only credentials accepted; MAIL FROM then
	// requires AUTH.
	user, pass string
	// mechs are the AUTH mechanisms offered; default PLAIN and LOGIN.
	mechs []string
	// insecureAuth allows AUTH without TLS.
	insecureAuth bool
}

// received is one message as the server got it.
type received struct {
	From     string
	To       []string
	Data     []byte
	AuthUser string // "" without AUTH
	AuthMech string
	TLS      bool
}

// failure makes the server answer the next N commands of a stage with an error.
type failure struct {
	n   int
	err *smtp.SMTPError
}

// testServer is the backend and its bookkeeping.
type testServer struct {
	opts serverOptions
	addr string
	host string
	port string
	// caFile is the PEM file of the CA that issued the server's certificate.
	caFile string

	mu          sync.Mutex
	msgs        []received
	connections int
	conns       []net.Conn
	fail        map[string]*failure // by stage: "rcpt", "data"
}

// newTestServer starts a server and stops it when the test ends (after the test's senders,
// which are closed by cleanups registered later).
func newTestServer(t testing.TB, opts serverOptions) *testServer {
	t.Helper()
	if len(opts.mechs) == 0 {
		opts.mechs = []string{sasl.Plain, sasl.Login}
	}
	ts := &testServer{opts: opts, fail: map[string]*failure{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	counting := &countingListener{Listener: ln, ts: ts}
	srv := smtp.NewServer(ts)
	srv.Domain = "mx.test"
	srv.ErrorLog = discardLog
	srv.AllowInsecureAuth = opts.insecureAuth
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	var served net.Listener = counting
	if opts.tls != tlsOff {
		pki := testPKI(t)
		ts.caFile = pki.caFile(t)
		conf := &tls.Config{Certificates: []tls.Certificate{pki.leaf}, MinVersion: tls.VersionTLS12}
		if opts.tls == tlsStart {
			srv.TLSConfig = conf
		} else {
			served = tls.NewListener(counting, conf)
		}
	}
	ts.addr = ln.Addr().String()
	ts.host, ts.port, _ = net.SplitHostPort(ts.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(served)
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		ts.dropConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("test SMTP server did not shut down: %v", err)
		}
		<-done
	})
	return ts
}

// countingListener counts and keeps the accepted connections.
type countingListener struct {
	net.Listener
	ts *testServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.ts.mu.Lock()
		l.ts.connections++
		l.ts.conns = append(l.ts.conns, c)
		l.ts.mu.Unlock()
	}
	return c, err
}

// Connections is how many TCP connections the server accepted.
func (ts *testServer) Connections() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.connections
}

// Messages returns a copy of the messages received so far.
func (ts *testServer) Messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// dropConnections closes every connection from the server's side, as a server does with an
// idle client.
func (ts *testServer) dropConnections() {
	ts.mu.Lock()
	conns := ts.conns
	ts.conns = nil
	ts.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// failNext makes the server answer the next n commands of stage ("rcpt" or "data") with code.
func (ts *testServer) failNext(stage string, n, code int, enhanced smtp.EnhancedCode, msg string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.fail[stage] = &failure{n: n, err: &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}}
}

func (ts *testServer) takeFailure(stage string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	f := ts.fail[stage]
	if f == nil || f.n == 0 {
		return nil
	}
	f.n--
	return f.err
}

// caFileEscaped is caFile for a URL query.
func (ts *testServer) caFileEscaped() string {
	return url.QueryEscape(ts.caFile)
}

// url is a mail URL for this server: scheme://userinfo@host:port?query.
func (ts *testServer) url(scheme, userinfo, query string) string {
	u := scheme + "://"
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += ts.addr
	if query != "" {
		u += "?" + query
	}
	return u
}

// NewSession implements smtp.Backend; go-smtp calls it at EHLO, again after STARTTLS.
func (ts *testServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{ts: ts, tls: isTLS}, nil
}

// session is one SMTP session; it implements smtp.AuthSession.
type session struct {
	ts       *testServer
	tls      bool
	authUser string
	authMech string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return s.ts.opts.mechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.ts.opts.user || pass != s.ts.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.authUser, s.authMech = user, mech
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

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.opts.user != "" && s.authUser == "" {
		return errAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.ts.takeFailure("rcpt"); err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.ts.takeFailure("data"); err != nil {
		return err
	}
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, received{
		From: s.from, To: append([]string(nil), s.to...), Data: data,
		AuthUser: s.authUser, AuthMech: s.authMech, TLS: s.tls,
	})
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

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

// pki is a test CA and a server certificate it issued for 127.0.0.1 and localhost.
type pki struct {
	caPEM []byte
	leaf  tls.Certificate
}

var (
	pkiOnce   sync.Once
	sharedPKI *pki
	pkiErr    error
)

// testPKI generates the CA and the server certificate once per test binary.
func testPKI(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() { sharedPKI, pkiErr = generatePKI() })
	if pkiErr != nil {
		t.Fatalf("generating the test PKI: %v", pkiErr)
	}
	return sharedPKI
}

func generatePKI() (*pki, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "eventworker mailer test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &pki{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		leaf:  tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
	}, nil
}

// caFile writes the CA certificate to the test's temporary directory, for ca_file.
func (p *pki) caFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, p.caPEM, 0o600); err != nil {
		t.Fatalf("writing ca.pem: %v", err)
	}
	return path
}
