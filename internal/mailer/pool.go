package mailer

import (
	"context"
	"errors"
	"fmt"
	"time"

	mail "github.com/wneessen/go-mail"
)

// pool spreads emails over cfg.Connections SMTP senders, each with its own reused connection:
// one connection serialises every handler behind one SMTP conversation.
type pool struct {
	all  []*smtpSender
	free chan *smtpSender
}

// openPool reads ca_file once for all the connections, and fails on what no retry can fix: an
// unreadable ca_file or options go-mail refuses.
func openPool(cfg Config, ep *endpoint) (*pool, error) {
	tlsConf, err := tlsConfig(ep)
	if err != nil {
		return nil, err
	}
	p := &pool{free: make(chan *smtpSender, cfg.Connections)}
	for range cfg.Connections {
		s, err := openSMTP(cfg, ep, tlsConf.Clone())
		if err != nil {
			return nil, err
		}
		p.all = append(p.all, s)
		p.free <- s
	}
	if ep.insecureSkipVerify {
		cfg.Logger.Warn("mail: TLS certificate verification is off (insecure_skip_verify=true): anyone on the network path can read and change the emails and the SMTP password; use ca_file instead",
			"server", ep.addr())
	}
	return p, nil
}

// deliver sends msg on the first connection that is free.
func (p *pool) deliver(ctx context.Context, m *Message, msg *mail.Msg) (time.Duration, error) {
	start := time.Now()
	select {
	case s := <-p.free:
		defer func() { p.free <- s }()
		waited := time.Since(start)
		more, err := s.deliver(ctx, m, msg)
		return waited + more, err
	case <-ctx.Done():
		return time.Since(start), fmt.Errorf("waiting for a free SMTP connection: %w", ctx.Err())
	}
}

func (p *pool) close() error {
	var errs []error
	for _, s := range p.all {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}
