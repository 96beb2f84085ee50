package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

const (
	// redialAttempts and the backoff bound how long one Publish tries to reconnect when ctx
	// allows it: five dials with 1.5 s of waiting between them in all.
	redialAttempts = 5
	redialBackoff  = 100 * time.Millisecond
	// publishAttempts: a publish that the connection took with it is sent once more.
	publishAttempts = 2
)

// amqpSender publishes with publisher confirms over a session that it replaces when the
// connection closes.
type amqpSender struct {
	cfg Config
	log *slog.Logger
	// dialer chooses the node of each connection.
	dialer *amqpnodes.Dialer
	// cur is the current session; it is replaced while holding dialing.
	cur atomic.Pointer[session]
	// dialing is held by the one goroutine that dials; a channel so that waiting honours ctx.
	dialing chan struct{}
	closed  atomic.Bool
}

func newAMQPSender(ctx context.Context, cfg Config) (*amqpSender, error) {
	dialer, err := newDialer(cfg)
	if err != nil {
		return nil, err
	}
	sess, err := dialSession(ctx, cfg, dialer)
	if err != nil {
		return nil, err
	}
	s := &amqpSender{cfg: cfg, log: cfg.Logger, dialer: dialer, dialing: make(chan struct{}, 1)}
	s.cur.Store(sess)
	s.log.Info("AMQP publisher connected", "url", redactURL(cfg.URL), "node", sess.node, "exchange", cfg.Exchange,
		"connection_name", cfg.ConnectionName, "channels", cfg.Channels)
	return s, nil
}

func (s *amqpSender) send(ctx context.Context, env envelope) error {
	ev := env.event
	msg := amqp.Publishing{
		ContentType:     ContentType,
		ContentEncoding: ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		MessageId:       ev.ID,
		CorrelationId:   ev.CorrelationID,
		Timestamp:       ev.OccurredAt,
		AppId:           ev.Producer,
		Body:            env.body,
		Headers:         traceHeaders(ctx),
	}
	var err error
	for attempt := 1; attempt <= publishAttempts; attempt++ {
		var sess *session
		if sess, err = s.session(ctx); err != nil {
			return err
		}
		err = s.publishOn(ctx, sess, ev.Type, msg)
		if !errors.Is(err, ErrConnectionLost) {
			return err
		}
		s.log.Warn("AMQP connection lost with an event in flight", "event_id", ev.ID,
			"event_type", ev.Type, "attempt", attempt, "err", err)
	}
	return err
}

// publishOn sends one message on a pooled channel and waits for its confirm. The broker sends
// basic.return before basic.ack, and amqp091 hands the return to NotifyReturn's channel before
// it processes the ack, so once the ack is in, the return (if any) is already buffered.
func (s *amqpSender) publishOn(ctx context.Context, sess *session, key string, msg amqp.Publishing) error {
	cc, err := sess.acquire(ctx)
	if err != nil {
		return err
	}
	dc, err := cc.ch.PublishWithDeferredConfirmWithContext(ctx, s.cfg.Exchange, key, true, false, msg)
	if err != nil {
		sess.release(cc, true)
		if cerr := closedErr(sess, cc); cerr != nil {
			return cerr
		}
		return fmt.Errorf("send basic.publish: %w", err)
	}

	timer := time.NewTimer(s.cfg.ConfirmTimeout)
	defer timer.Stop()
	select {
	case <-dc.Done():
	case <-timer.C:
		// The confirm or a return may still come: this channel must not serve another publish.
		sess.release(cc, false)
		return fmt.Errorf("%w: none within %s on exchange %q", ErrConfirmTimeout, s.cfg.ConfirmTimeout, s.cfg.Exchange)
	case <-ctx.Done():
		sess.release(cc, false)
		return fmt.Errorf("wait for publisher confirm: %w", ctx.Err())
	}

	// amqp091 resolves pending confirms as nacks when the channel closes; the channel's state
	// tells them apart from a broker's nack.
	if !dc.Acked() && cc.ch.IsClosed() {
		sess.release(cc, false)
		return closedErr(sess, cc)
	}
	ret, returned := takeReturn(cc.returns, msg.MessageId)
	acked := dc.Acked()
	sess.release(cc, true)
	switch {
	case !acked:
		return fmt.Errorf("%w: exchange %q, routing key %q", ErrNacked, s.cfg.Exchange, key)
	case returned:
		return fmt.Errorf("%w: exchange %q has no queue bound for routing key %q (broker: %d %s)",
			ErrUnroutable, s.cfg.Exchange, key, ret.ReplyCode, ret.ReplyText)
	}
	return nil
}

// takeReturn drains the buffered returns without waiting and reports the one of messageID.
// Returns of other messages can only be of abandoned publishes, whose callers are gone.
func takeReturn(returns <-chan amqp.Return, messageID string) (amqp.Return, bool) {
	var found amqp.Return
	ok := false
	for {
		select {
		case r, open := <-returns:
			if !open {
				return found, ok
			}
			if r.MessageId == messageID {
				found, ok = r, true
			}
		default:
			return found, ok
		}
	}
}

// closedErr explains a channel that closed under a publish: a lost connection (to be retried on
// a new one) or a channel error the broker raised, such as 404 for a missing exchange. It is nil
// while channel and connection are open.
func closedErr(sess *session, cc *confirmChannel) error {
	if !sess.alive() {
		return connLost("connection closed before the publisher confirm arrived")
	}
	if !cc.ch.IsClosed() {
		return nil
	}
	select {
	case aerr, ok := <-cc.closes:
		if ok && aerr != nil {
			return fmt.Errorf("broker closed the channel before the publisher confirm arrived: %w", aerr)
		}
	default:
	}
	return errors.New("channel closed before the publisher confirm arrived")
}

func connLost(why string) error { return fmt.Errorf("%w: %s", ErrConnectionLost, why) }

// session returns an open session, dialling a new one when the current connection has closed.
// Concurrent callers wait for one dial; ctx bounds the wait and the backoff.
func (s *amqpSender) session(ctx context.Context) (*session, error) {
	if sess := s.cur.Load(); sess.alive() {
		return sess, nil
	}
	select {
	case s.dialing <- struct{}{}:
		defer func() { <-s.dialing }()
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for reconnect: %w", ctx.Err())
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	old := s.cur.Load()
	if old.alive() {
		return old, nil // another caller reconnected while this one waited
	}
	_ = old.close()

	backoff := redialBackoff
	for attempt := 1; ; attempt++ {
		sess, err := dialSession(ctx, s.cfg, s.dialer)
		if err == nil {
			s.cur.Store(sess)
			s.log.Info("AMQP publisher reconnected", "url", redactURL(s.cfg.URL), "node", sess.node, "attempt", attempt)
			return sess, nil
		}
		if attempt == redialAttempts {
			return nil, fmt.Errorf("reconnect: gave up after %d attempts: %w", attempt, err)
		}
		s.log.Warn("AMQP reconnect failed; retrying", "attempt", attempt, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("reconnect: %w (last attempt: %w)", ctx.Err(), err)
		}
		backoff *= 2
	}
}

// close closes the current session; it waits for a dial in progress so that no connection
// outlives the publisher.
func (s *amqpSender) close() error {
	s.closed.Store(true)
	s.dialing <- struct{}{}
	defer func() { <-s.dialing }()
	return s.cur.Load().close()
}
