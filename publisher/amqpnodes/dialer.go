package amqpnodes

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DialerConfig configures a Dialer.
type DialerConfig struct {
	// Nodes are the nodes to dial, in order (Parse); at least one.
	Nodes []Node
	// AMQP is the configuration of every connection: its properties, dial function and TLS.
	// The TLS configuration is cloned for each node; unless it names a server, the node's
	// server_name_indication parameter does, or else its host, so one configuration serves
	// every node of an amqps:// list.
	AMQP amqp.Config
	// Client names the connection's user in the log line of a failover, e.g. "consume".
	Client string
	// Logger receives one WARN line when a connection opens on another node than the one
	// before; nil discards it.
	Logger *slog.Logger
	// Observe, when set, is called with a node's Addr and true when a connection to it opens,
	// and with false when that connection closes: for a gauge of the node a client is on.
	Observe func(node string, connected bool)
}

// Dialer connects to the nodes of a list in turn. It is safe for concurrent use; a dial waits
// for another in progress.
type Dialer struct {
	cfg DialerConfig

	mu sync.Mutex
	// next is the node the next dial tries first: the one after the last connection's.
	next int
	// last is the node of the last connection, nil before the first.
	last *Node
	// gen counts connections, so that the close of an old one does not mark a newer one.
	gen uint64
	up  bool
}

// NewDialer returns a Dialer of cfg.Nodes; it dials nothing yet.
func NewDialer(cfg DialerConfig) (*Dialer, error) {
	if len(cfg.Nodes) == 0 {
		return nil, fmt.Errorf("%w: no node", ErrInvalidList)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dialer{cfg: cfg}, nil
}

// Dial tries each node once, starting with the one after the node of the previous connection
// (the first node at the first dial), and returns the first connection that opens and its
// node. When none opens, the error of a one-node list is that node's as amqp091 returned it;
// a longer list's joins every node's, each named by its address. Waiting between rounds is the
// caller's: its backoff.
func (d *Dialer) Dial() (*amqp.Connection, Node, error) { return d.DialUsing(nil) }

// DialUsing is Dial with dial, when not nil, as the TCP dial function of this call's
// connections instead of the configuration's: one bounded by the caller's context, say.
func (d *Dialer) DialUsing(dial func(network, addr string) (net.Conn, error)) (*amqp.Connection, Node, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	nodes := d.cfg.Nodes
	var errs []error
	for range nodes {
		n := nodes[d.next]
		d.next = (d.next + 1) % len(nodes)
		cfg := d.configFor(n)
		if dial != nil {
			cfg.Dial = dial
		}
		conn, err := amqp.DialConfig(n.URL, cfg)
		if err != nil {
			if len(nodes) == 1 {
				return nil, n, err
			}
			errs = append(errs, fmt.Errorf("node %s: %w", n.Addr, err))
			continue
		}
		if d.last != nil && d.last.Addr != n.Addr {
			d.cfg.Logger.Warn("RabbitMQ connection moved to another node", "client", d.cfg.Client,
				"from_node", d.last.Addr, "to_node", n.Addr)
		}
		d.last = &n
		d.gen++
		d.up = true
		if d.cfg.Observe != nil {
			d.cfg.Observe(n.Addr, true)
		}
		go d.watch(conn.NotifyClose(make(chan *amqp.Error, 1)), n, d.gen)
		return conn, n, nil
	}
	return nil, Node{}, errors.Join(errs...)
}

// configFor is the configuration of a connection to n: a properties table of its own (amqp091
// writes into it) and the TLS configuration cloned with n's server name.
func (d *Dialer) configFor(n Node) amqp.Config {
	cfg := d.cfg.AMQP
	cfg.Properties = maps.Clone(d.cfg.AMQP.Properties)
	if cfg.Properties == nil {
		cfg.Properties = amqp.Table{}
	}
	cfg.TLSClientConfig = d.cfg.AMQP.TLSClientConfig.Clone()
	if cfg.TLSClientConfig != nil && cfg.TLSClientConfig.ServerName == "" {
		// Empty: amqp091 takes the node's host.
		cfg.TLSClientConfig.ServerName = n.URI.ServerName
	}
	return cfg
}

// watch marks the node left when the connection closes, unless a newer one replaced it.
func (d *Dialer) watch(closed <-chan *amqp.Error, n Node, gen uint64) {
	for range closed {
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != gen {
		// Dial already observed the newer connection; only a different node needs closing.
		if d.cfg.Observe != nil && d.last != nil && d.last.Addr != n.Addr {
			d.cfg.Observe(n.Addr, false)
		}
		return
	}
	d.up = false
	if d.cfg.Observe != nil {
		d.cfg.Observe(n.Addr, false)
	}
}

// Current returns the node of the open connection, and false when there is none.
func (d *Dialer) Current() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.up || d.last == nil {
		return "", false
	}
	return d.last.Addr, true
}

// Nodes returns the addresses of the list's nodes, in order.
func (d *Dialer) Nodes() []string { return Addrs(d.cfg.Nodes) }
