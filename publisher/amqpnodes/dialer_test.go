package amqpnodes

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
)

// TestDialerTakesTheFirstReachableNodeAndMovesOn dials a list whose first node is a closed
// port and whose second is the test RabbitMQ; a closed connection is observed, and the next
// dial starts after the node it was on.
func TestDialerTakesTheFirstReachableNodeAndMovesOn(t *testing.T) {
	live := testenv.AMQPURL(t)
	dead := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", testenv.FreePort(t))
	nodes, err := Parse(dead + "," + live)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	d, err := NewDialer(DialerConfig{Nodes: nodes, Client: "test", AMQP: amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)},
		Observe: func(node string, up bool) { mu.Lock(); seen = append(seen, fmt.Sprint(node, " ", up)); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	conn, n, err := d.Dial()
	if err != nil {
		t.Fatal(err)
	}
	if n.Addr != nodes[1].Addr {
		t.Fatalf("connected to %s, want the reachable %s", n.Addr, nodes[1].Addr)
	}
	if cur, ok := d.Current(); !ok || cur != nodes[1].Addr {
		t.Errorf("Current() = %q, %v; want %s, true", cur, ok, nodes[1].Addr)
	}
	_ = conn.Close()
	waitFor(t, func() bool { _, ok := d.Current(); return !ok })
	// The next round starts at the dead node (after the live one), fails there, and comes back.
	conn, n, err = d.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n.Addr != nodes[1].Addr {
		t.Errorf("second dial on %s, want %s", n.Addr, nodes[1].Addr)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{nodes[1].Addr + " true", nodes[1].Addr + " false", nodes[1].Addr + " true"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("observed %v, want %v", seen, want)
	}
}

func TestDialerReportsEveryNode(t *testing.T) {
	t.Parallel()
	p1, p2 := testenv.FreePort(t), testenv.FreePort(t)
	nodes, err := Parse(fmt.Sprintf("amqp://u:s3cret@127.0.0.1:%d/,amqp://u:s3cret@127.0.0.1:%d/", p1, p2))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDialer(DialerConfig{Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = d.Dial()
	if err == nil {
		t.Fatal("dialled closed ports")
	}
	for _, n := range nodes {
		if !strings.Contains(err.Error(), "node "+n.Addr+": ") {
			t.Errorf("error does not name %s: %v", n.Addr, err)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
