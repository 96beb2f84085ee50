package app

import (
	"testing"

	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// dialAny connects to the first node of url, one URL or a comma-separated list, that answers.
func dialAny(url string) (*amqp.Connection, error) {
	nodes, err := amqpnodes.Parse(url)
	if err != nil {
		return nil, err
	}
	d, err := amqpnodes.NewDialer(amqpnodes.DialerConfig{Nodes: nodes, AMQP: amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)}})
	if err != nil {
		return nil, err
	}
	conn, _, err := d.Dial()
	return conn, err
}

// deleteQueues removes what a test's worker declared under its private prefix.
func deleteQueues(t *testing.T, url, prefix string, consumers []string, cfg *config.Config) {
	conn, err := dialAny(url)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, c := range consumers {
		for _, q := range (broker.Names{Prefix: prefix, Consumer: c}).Queues(cfg.RetryDelays) {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	}
	// The tests' exchange is named as their prefix.
	_, _ = ch.QueueDelete(broker.UnroutableQueue(prefix), false, false, false)
	_ = ch.ExchangeDelete(broker.UnroutableExchange(prefix), false, false)
}
