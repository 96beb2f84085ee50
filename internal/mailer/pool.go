package mailer

import (
	"context"
	"errors"
	"fmt"

	mail "github.com/wneessen/go-mail"
)

// pool spreads emails over cfg.Connections SMTP senders, each with its own reused connection:
// one connection serialises every handler behind one SMTP conversation.
type pool struct {
	all  []*smtpSender
	free chan *smtpSender
}

func openPool(cfg Config, ep *endpoint) (*pool, error) {
	p := &pool{free: make(chan *smtpSender, cfg.Connections)}
	for i := range cfg.Connections {
		c := cfg
		c.warnInsecure = i == 0
		s, err := openSMTP(c, ep)
		if err != nil {
			return nil, err
		}
		p.all = append(p.all, s)
		p.free <- s
	}
	return p, nil
}

// deliver sends msg on the first connection that is free.
func (p *pool) deliver(ctx context.Context, m *Message, msg *mail.Msg) error {
	select {
	case s := <-p.free:
		defer func() { p.free <- s }()
		return s.deliver(ctx, m, msg)
	case <-ctx.Done():
		return fmt.Errorf("waiting for a free SMTP connection: %w", ctx.Err())
	}
}

func (p *pool) close() error {
	var errs []error
	for _, s := range p.all {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}
