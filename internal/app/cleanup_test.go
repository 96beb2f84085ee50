package app

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
)

// deleteQueues removes what a test's worker declared under its private prefix.
func deleteQueues(t *testing.T, url, prefix string, consumers []string, cfg *config.Config) {
	conn, err := amqp.Dial(url)
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
