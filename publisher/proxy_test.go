package publisher

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// proxy is a TCP proxy in front of the broker that a test can cut (a dropped connection, no
// AMQP close) or hold (the broker's frames stop reaching the client, so confirms never arrive).
type proxy struct {
	ln     net.Listener
	target string
	// hold is write-locked while the broker's frames are held back.
	hold  sync.RWMutex
	mu    sync.Mutex
	conns []net.Conn
}

// newProxy listens on a free local port and returns the AMQP URL that goes through it.
func newProxy(t *testing.T, amqpURL string) (*proxy, string) {
	t.Helper()
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatalf("parse AMQP URL: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &proxy{ln: ln, target: u.Host}
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	go p.serve()
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
		go p.copyHeld(client, server)
	}
}

// copyHeld copies the broker's bytes to the client, waiting while they are held.
func (p *proxy) copyHeld(client, server net.Conn) {
	defer client.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			p.hold.RLock()
			_, werr := client.Write(buf[:n])
			p.hold.RUnlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut drops every proxied connection at the TCP level.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// holdBroker stops the broker's frames until the returned func is called.
func (p *proxy) holdBroker() (release func()) {
	p.hold.Lock()
	var once sync.Once
	return func() { once.Do(p.hold.Unlock) }
}
