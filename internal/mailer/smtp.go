package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/eventworker/eventworker/internal/certpool"
)

// quitTimeout bounds the QUIT that Close sends on an idle connection.
const quitTimeout = 5 * time.Second

// errAborted is what a dial returns when the send's context ended while it connected.
var errAborted = errors.New("send aborted")

// smtpSender delivers over one SMTP connection, reused across emails. go-mail's Client holds
// the configuration and speaks the protocol; the sender owns the connection (go-mail's
// DialToSMTPClientWithContext and SendWithSMTPClient take it as an argument), so it decides
// when to redial, and keeps the TCP connection to abort a send from another goroutine: go-mail
// reads and writes without a context, only with deadlines.
type smtpSender struct {
	ep      *endpoint
	timeout time.Duration
	log     *slog.Logger
	client  *mail.Client
	tls     *tls.Config

	// sem serialises sends and Close: a mutex that a Send waiting for its turn can give up
	// when its context ends.
	sem chan struct{}
	// The fields below are guarded by sem.
	conn   *smtp.Client // the open connection; nil when there is none
	raw    net.Conn     // conn's TCP connection
	att    *attempt     // the send in progress, for dialRaw
	closed bool

	// busy is the send in progress too, for close, which must not wait for sem to abort it.
	busy atomic.Pointer[attempt]
}

// attempt is one Send's claim on the TCP connection it uses: when the send's context ends,
// abort closes that connection, which fails go-mail's blocked read or write at once. An attempt
// only ever closes a connection registered with it, so a late abort cannot hit a connection a
// later Send dialled.
type attempt struct {
	mu      sync.Mutex
	conn    net.Conn
	aborted bool
	// authStarted is set by urlAuth when the AUTH exchange begins; only the sending goroutine
	// touches it.
	authStarted bool
	// dialing is true from the start of a dial (connect, greeting, EHLO, STARTTLS, AUTH) until
	// the session is established, since dialStart; only the sending goroutine touches them.
	dialing   bool
	dialStart time.Time
}

func (a *attempt) abort() {
	a.mu.Lock()
	a.aborted = true
	conn := a.conn
	a.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// register makes conn the connection abort closes; false if the attempt was aborted already.
func (a *attempt) register(conn net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.aborted {
		return false
	}
	a.conn = conn
	return true
}

func (a *attempt) registered() net.Conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conn
}

// openSMTP configures the sender without connecting: the server may be down while the worker
// starts, and the first Send connects. It fails on options go-mail refuses. tlsConf is the
// sender's own: go-mail keeps it.
func openSMTP(cfg Config, ep *endpoint, tlsConf *tls.Config) (*smtpSender, error) {
	s := &smtpSender{
		ep:      ep,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
		tls:     tlsConf,
		sem:     make(chan struct{}, 1),
	}
	policy := mail.TLSMandatory
	switch ep.startTLS {
	case startTLSOpportunistic:
		policy = mail.TLSOpportunistic
	case startTLSNone:
		policy = mail.NoTLS // also smtps://, whose TLS dialRaw does before go-mail sees the connection
	}
	opts := []mail.Option{
		mail.WithPort(ep.port),
		// go-mail's own deadline is a backstop: the send's context ends first and says why.
		mail.WithTimeout(cfg.Timeout + time.Second),
		mail.WithTLSConfig(tlsConf),
		mail.WithTLSPolicy(policy),
		mail.WithDialContextFunc(s.dialRaw),
	}
	if ep.helo != "" {
		opts = append(opts, mail.WithHELO(ep.helo))
	}
	if ep.auth != authNone {
		opts = append(opts, mail.WithSMTPAuthCustom(&urlAuth{
			mode: ep.auth, user: ep.user, password: ep.password, host: ep.host,
			started: func() { s.att.authStarted = true },
		}))
	}
	var err error
	s.client, err = mail.NewClient(ep.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: configuring the SMTP client for %s: %w", ErrInvalidURL, ep.addr(), err)
	}
	return s, nil
}

// tlsConfig verifies the server's name against ep.host, with the roots of ca_file instead of
// the system's when it is set.
func tlsConfig(ep *endpoint) (*tls.Config, error) {
	conf := &tls.Config{
		ServerName:         ep.host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: ep.insecureSkipVerify, // only on the URL's explicit opt-in; Open warns
	}
	if ep.caFile == "" || !ep.usesTLS() {
		return conf, nil
	}
	pool, err := certpool.Load(ep.caFile)
	if errors.Is(err, certpool.ErrNoCertificate) {
		return nil, badURL("mail URL parameter ca_file=%q holds no PEM certificate: give the CA certificate that issued the mail server's certificate, in PEM", ep.caFile)
	}
	if err != nil {
		return nil, &urlError{msg: fmt.Sprintf("mail URL parameter ca_file=%q cannot be read: fix the path or the file's permissions", ep.caFile), cause: err}
	}
	conf.RootCAs = pool
	return conf, nil
}

// dialRaw is go-mail's dial function: it connects, registers the connection with the send in
// progress so that the send's context can abort it, and for smtps:// does the TLS handshake.
func (s *smtpSender) dialRaw(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if s.att == nil || !s.att.register(conn) {
		_ = conn.Close()
		return nil, errAborted
	}
	if s.ep.scheme != schemeSMTPS {
		return conn, nil
	}
	tc := tls.Client(conn, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// deliver sends msg, reusing the open connection, once it is free. Its errors are classified
// (see errors.go).
func (s *smtpSender) deliver(ctx context.Context, _ *Message, msg *mail.Msg) (time.Duration, error) {
	start := time.Now()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return time.Since(start), fmt.Errorf("waiting for the mail connection: %w", ctx.Err())
	}
	waited := time.Since(start)
	defer func() { <-s.sem }()
	return waited, s.sendHeld(ctx, msg)
}

// sendHeld sends msg on the connection, which the caller holds (sem).
func (s *smtpSender) sendHeld(ctx context.Context, msg *mail.Msg) error {
	if s.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sending email via %s: %w", s.ep.addr(), err)
	}

	sendCtx, cancel := context.WithTimeoutCause(ctx, s.timeout, errSendTimeout)
	defer cancel()
	att := &attempt{}
	s.att = att
	s.busy.Store(att)
	defer func() {
		s.att = nil
		s.busy.Store(nil)
	}()
	stop := context.AfterFunc(sendCtx, att.abort)

	reused := s.conn != nil
	if reused {
		att.register(s.raw)
		// The last send's deadline may have passed while the connection was idle.
		if err := s.conn.UpdateDeadline(s.timeout); err != nil {
			s.discard()
			reused = false
		}
	}
	err := s.transact(sendCtx, att, msg)
	if err != nil && reused && staleConnection(err) && sendCtx.Err() == nil {
		// The server dropped the idle connection, or is closing it, before it saw the email.
		s.log.Debug("mail: connection to the server was closed; reconnecting", "server", s.ep.addr(), "error", err)
		s.discard()
		att.authStarted = false
		err = s.transact(sendCtx, att, msg)
	}
	aborted := !stop()
	var classified *mailError
	if err != nil && !errors.As(err, &classified) {
		err = classifySend(err, s.ep.addr())
	}
	if err == nil {
		if aborted {
			s.discard() // the abort may have closed it after the server accepted the email
		}
		return nil
	}
	s.discard()
	if IsPermanent(err) {
		return err
	}
	if sendCtx.Err() != nil {
		return s.contextError(ctx, sendCtx, att)
	}
	return err
}

// errSendTimeout is the cause of a send's context when Config.Timeout ran out.
var errSendTimeout = errors.New("mail send timeout")

// contextError reports why a send's context ended: the caller's context, or Config.Timeout.
//
// A deadline that ends the send before the SMTP session is established (the TCP connect, the
// greeting, EHLO, STARTTLS or AUTH: nothing of the email was sent) is the server's, not the
// email's: ErrUnavailable. So is the caller's deadline there, once the server has had at least
// half of Config.Timeout to answer (the handler's deadline may come before the mail timeout;
// a caller that left the send almost no time is not the server's fault). A deadline during the
// transaction (MAIL FROM, RCPT TO, DATA) is an ordinary transient error: the email itself may be
// the cause. Cancellation is never unavailable.
func (s *smtpSender) contextError(ctx, sendCtx context.Context, att *attempt) error {
	addr := s.ep.addr()
	if err := ctx.Err(); err != nil {
		if waited := time.Since(att.dialStart); errors.Is(err, context.DeadlineExceeded) && att.dialing && waited >= s.timeout/2 {
			return newError([]error{ErrUnavailable, err}, "connecting to mail server %s: no answer for %s before the deadline (%v): check the host and port in EVENTWORKER_MAIL_URL and that the server is up",
				addr, waited.Round(time.Millisecond), err)
		}
		return fmt.Errorf("sending email via %s: %w", addr, err)
	}
	if errors.Is(context.Cause(sendCtx), errSendTimeout) {
		if att.dialing {
			return newError([]error{ErrUnavailable, context.DeadlineExceeded}, "connecting to mail server %s: no session within the mail timeout of %s (the connection, the greeting or EHLO did not complete): check the host and port in EVENTWORKER_MAIL_URL and that the server is up", addr, s.timeout)
		}
		return newError([]error{context.DeadlineExceeded}, "sending email via %s: the mail server did not finish within the mail timeout of %s", addr, s.timeout)
	}
	return fmt.Errorf("sending email via %s: %w", addr, sendCtx.Err())
}

// transact connects if needed and runs the SMTP transaction of one email. A dial error comes
// back classified; a send error comes back as go-mail's, for deliver to decide on a retry.
func (s *smtpSender) transact(ctx context.Context, att *attempt, msg *mail.Msg) error {
	if s.conn == nil {
		att.dialing, att.dialStart = true, time.Now()
		conn, err := s.client.DialToSMTPClientWithContext(ctx)
		if err != nil {
			// go-mail leaves the connection open when EHLO or STARTTLS fails.
			if raw := att.registered(); raw != nil {
				_ = raw.Close()
			}
			if ctx.Err() != nil {
				return fmt.Errorf("connecting to mail server %s: %w", s.ep.addr(), err)
			}
			return classifyDial(err, s.ep, att.authStarted)
		}
		att.dialing = false
		s.conn, s.raw = conn, att.registered()
		s.log.Debug("mail: connected", "server", s.ep.addr())
	}
	return transaction(s.conn, msg) // deliver decides whether to retry, then classifies
}

// discard closes the connection without QUIT: after an error its state is unknown.
func (s *smtpSender) discard() {
	if s.conn == nil {
		return
	}
	if s.raw != nil {
		_ = s.raw.SetDeadline(time.Now()) // a TLS close_notify must not wait on a dead peer
	}
	_ = s.conn.Close()
	if s.raw != nil {
		_ = s.raw.Close()
	}
	s.conn, s.raw = nil, nil
}

// close aborts a send in progress (its email was not accepted, so its event is not
// acknowledged and comes back), then says QUIT and closes: the worker's shutdown has a deadline,
// and a relay that does not answer must not hold the process beyond it.
func (s *smtpSender) close() error {
	if a := s.busy.Load(); a != nil {
		a.abort()
	}
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.conn == nil {
		return nil
	}
	// A failed QUIT (say, the server dropped the idle connection) leaves nothing to clean up.
	if err := s.conn.UpdateDeadline(quitTimeout); err == nil {
		if err := s.client.CloseWithSMTPClient(s.conn); err != nil {
			s.log.Debug("mail: QUIT failed", "server", s.ep.addr(), "error", err)
		}
	}
	s.discard()
	return nil
}
