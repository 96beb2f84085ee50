package testenv_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/certpool"
	"github.com/eventworker/eventworker/internal/testenv"
)

// TestRabbitNodeRestartKeepsDurableQueues checks the private node: AMQP over TLS verifies
// against the test CA only, and a durable queue's persistent message survives Stop and Start.
func TestRabbitNodeRestartKeepsDurableQueues(t *testing.T) {
	n := testenv.StartRabbitNode(t)

	roots, err := certpool.Load(n.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.DialTLS(n.TLSURL, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("amqps with the test CA: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("kept", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirm("", "kept", true, false, amqp.Publishing{Body: []byte("x"), DeliveryMode: amqp.Persistent})
	if err != nil || !dc.Wait() {
		t.Fatalf("publish: %v", err)
	}
	conn.Close()

	_, err = amqp.DialTLS(n.TLSURL, &tls.Config{MinVersion: tls.VersionTLS12})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("amqps with the system's CAs: got %v, want an unknown-authority error", err)
	}

	n.Stop()
	if c, err := amqp.Dial(n.URL); err == nil {
		c.Close()
		t.Fatal("the node still accepts connections after Stop")
	}
	n.Start()
	conn, err = amqp.Dial(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err = conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive("kept", true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 1 {
		t.Fatalf("queue holds %d messages after the restart, want 1", q.Messages)
	}
}
