//go:build faults

package app

import (
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/testenv"
)

// faultBrokerDown is how long the broker stays stopped, between its shutdown and its start.
const faultBrokerDown = 10 * time.Second

// TestFaultBrokerRestartMidStream stops the RabbitMQ node (a private one: the machine's node
// serves the other tests) after about a third of the emails of 5,000 mixed events went out,
// keeps it down for faultBrokerDown, starts it again, and counts the effects. Two worker
// processes and the producer reconnect on their own; the producer retries its failed publishes
// with the same event_id.
func TestFaultBrokerRestartMidStream(t *testing.T) {
	node := testenv.StartRabbitNode(t)
	f := startFaultEnv(t, node.URL)
	f.start()
	f.start()
	f.runFault("RabbitMQ stopped and started", func() int {
		node.Stop()
		time.Sleep(faultBrokerDown)
		node.Start()
		return len(f.sink.Messages())
	})
}

// TestFaultBrokerKilledMidStream is TestFaultBrokerRestartMidStream with the node killed
// (SIGKILL of its Erlang VM) instead of shut down: no connection is closed by the broker, and
// the quorum queues recover from their logs when it starts again.
func TestFaultBrokerKilledMidStream(t *testing.T) {
	node := testenv.StartRabbitNode(t)
	f := startFaultEnv(t, node.URL)
	f.start()
	f.start()
	f.runFault("RabbitMQ killed (SIGKILL) and started", func() int {
		node.Kill()
		time.Sleep(faultBrokerDown)
		node.Start()
		return len(f.sink.Messages())
	})
}
