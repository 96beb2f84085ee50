package httplisten

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// ErrAlreadyStarted is returned by a second Start.
var ErrAlreadyStarted = errors.New("already started")

// Listener serves one http.Server on addr. Its methods are safe for concurrent use.
type Listener struct {
	addr string

	mu      sync.Mutex
	srv     *http.Server
	ln      net.Listener
	served  chan error // Serve's result, once it returned
	stopped bool
}

// New returns a listener for addr (host:port; port 0 picks a free one).
func New(addr string) *Listener { return &Listener{addr: addr} }

// Start listens on the address and serves srv in a goroutine until Shutdown. ctx bounds only
// the listening. The error of a taken port is the listener's, for the caller to name its
// setting.
func (l *Listener) Start(ctx context.Context, srv *http.Server) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil || l.stopped {
		return ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.addr)
	if err != nil {
		return err
	}
	l.srv, l.ln, l.served = srv, ln, make(chan error, 1)
	go func(served chan<- error) {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		served <- err
	}(l.served)
	return nil
}

// Addr returns the address it listens on once started (with the port chosen for ":0"), else
// the configured address.
func (l *Listener) Addr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.addr
}

// Shutdown stops accepting connections and waits, within ctx, for the requests in progress;
// when ctx ends first, it closes the connections still open rather than leak them. It returns
// that, or serving's failure. Shutdown of a listener never started, or already shut down,
// returns nil.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	srv, served := l.srv, l.served
	if srv == nil || l.stopped {
		l.mu.Unlock()
		return nil
	}
	l.stopped = true
	l.mu.Unlock()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
