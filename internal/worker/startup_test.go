package worker

import (
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/config"
)

// forward accepts on l and relays every connection to target, until l closes.
func forward(t *testing.T, l net.Listener, target string) {
	t.Helper()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

// TestBrokerDownAtStartIsRetried starts the worker while nothing listens at its AMQP address;
// it must keep retrying, not crash, and consume once the broker appears.
func TestBrokerDownAtStartIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	var brokerAddr string
	e := newEnv(t, func(c *config.Config) {
		u, err := url.Parse(c.AMQPURL)
		if err != nil {
			t.Fatal(err)
		}
		brokerAddr = u.Host
		u.Host = addr
		c.AMQPURL = u.String()
	})
	late := make(chan net.Listener, 1)
	go func() {
		time.Sleep(2 * time.Second)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			late <- nil
			return
		}
		forward(t, l, brokerAddr)
		late <- l
	}()
	e.start() // returns once the worker is ready, through the late listener
	if l := <-late; l != nil {
		defer l.Close()
	}
	id := uuid.NewString()
	e.publish("user.updated", e.example("user.updated", id), nil)
	e.waitFor("the event to be handled", 15*time.Second, func() bool { return e.rec.count("cache", id) == 1 })
}
