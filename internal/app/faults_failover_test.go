//go:build faults

package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
)

// failoverOrders is how many orders are published before the kill, and again after it.
const failoverOrders = 50

// TestFaultNodeKilledWorkerAndPublisherFailOver gives a worker and a publisher the URLs of two
// independent RabbitMQ nodes, node 1 first. Both connect to node 1; the orders published there
// are handled. Node 1 is killed (SIGKILL): the worker moves to node 2, declares its queues
// there and is ready again, naming node 2 in /readyz and in eventworker_amqp_connected_node;
// the publisher's next publishes go to node 2 and are handled too.
func TestFaultNodeKilledWorkerAndPublisherFailOver(t *testing.T) {
	node1 := testenv.StartRabbitNode(t)
	node2 := testenv.StartRabbitNode(t)
	list := node1.URL + "," + node2.URL
	f := startFaultEnv(t, list)
	p := f.start()
	if code, body := readyz("http://" + p.addr + "/readyz"); code != http.StatusOK || !strings.Contains(body, "rabbitmq: consuming on node "+node1.Addr()) {
		t.Fatalf("/readyz = %d %q, want ready on node 1 (%s)", code, body, node1.Addr())
	}

	pub, err := publisher.New(context.Background(), publisher.Config{URL: list, Registry: f.reg, Producer: "faults-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	want := f.publishOrdersWith(pub, 0, failoverOrders)
	f.waitFor("the emails of the orders published to node 1", faultDeadline, func() bool { return f.sinkHolds(want) })

	killed := time.Now()
	node1.Kill()
	f.waitFor("the worker ready on node 2", faultDeadline, func() bool {
		code, body := readyz("http://" + p.addr + "/readyz")
		return code == http.StatusOK && strings.Contains(body, "rabbitmq: consuming on node "+node2.Addr())
	})
	resumed := time.Since(killed)
	publishStart := time.Now()
	for id := range f.publishOrdersWith(pub, failoverOrders, failoverOrders) {
		want[id] = true
	}
	publishAfter := time.Since(publishStart)
	f.waitFor("the emails of the orders published to node 2", faultDeadline, func() bool { return f.sinkHolds(want) })
	handled := time.Since(killed)

	if got := f.metricSum("eventworker_amqp_connected_node", `client="consume"`, `node="`+node2.Addr()+`"`); got != 1 {
		t.Errorf("eventworker_amqp_connected_node{client=consume,node=%s} = %g, want 1", node2.Addr(), got)
	}
	if got := f.metricSum("eventworker_amqp_connected_node", `client="consume"`, `node="`+node1.Addr()+`"`); got != 0 {
		t.Errorf("eventworker_amqp_connected_node{client=consume,node=%s} = %g, want 0", node1.Addr(), got)
	}
	moved := fmt.Sprintf(`"client":"eventworker-consume","from_node":%q,"to_node":%q`, node1.Addr(), node2.Addr())
	if n := f.logLines(moved); n != 1 {
		t.Errorf("%d log lines say the consumer moved from node 1 to node 2, want 1:\n%s", n, tail(p.logs, 20))
	}
	logs, err := os.ReadFile(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logs), "guest:guest") {
		t.Errorf("the log shows a node's credentials:\n%s", logs)
	}
	if n := len(f.sink.Messages()); n != len(want) {
		t.Errorf("%d emails, want %d (each order once)", n, len(want))
	}
	t.Logf("failover: the worker was ready on node 2 %.1f s after the SIGKILL of node 1 (the wait for its VM to exit included); the publisher sent the next %d orders to node 2 in %.2f s; every email of the %d orders %.1f s after the kill",
		resumed.Seconds(), failoverOrders, publishAfter.Seconds(), len(want), handled.Seconds())
}
