package amqpnodes

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrInvalidList marks a URL list that Parse refuses.
var ErrInvalidList = errors.New("invalid AMQP URL list")

// Node is one RabbitMQ node of a list.
type Node struct {
	// URL is the element as given, password included: to be dialled, never shown.
	URL string
	// Addr is the node's host:port, which names it in logs, metrics and errors.
	Addr string
	// URI is URL parsed.
	URI amqp.URI
}

// Redacted is the node's URL with its password masked, for messages.
func (n Node) Redacted() string { return RedactURL(n.URL) }

// Parse reads a comma-separated list of amqp:// or amqps:// URLs, every one with the same
// virtual host. Its error wraps ErrInvalidList and names every bad element by its position,
// with its password masked; the elements that are good are returned with it.
func Parse(raw string) ([]Node, error) {
	parts := strings.Split(raw, ",")
	var nodes []Node
	var errs []error
	bad := func(i int, elem, format string, args ...any) {
		where := fmt.Sprintf("element %d", i+1)
		if len(parts) == 1 {
			where = "URL"
		}
		if elem != "" {
			where += " " + strconv.Quote(RedactURL(elem))
		}
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidList, where, fmt.Sprintf(format, args...)))
	}
	seen := map[string]int{}
	for i, elem := range parts {
		elem = strings.TrimSpace(elem)
		if elem == "" {
			bad(i, "", "empty (a comma too many?); want amqp://user:pass@host:5672/vhost")
			continue
		}
		uri, err := amqp.ParseURI(elem)
		if err != nil {
			// url.Parse's errors quote the whole URL, password included.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			bad(i, elem, "not an amqp:// or amqps:// URL with a host: %v", err)
			continue
		}
		n := Node{URL: elem, Addr: net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port)), URI: uri}
		if j, dup := seen[n.Addr]; dup {
			bad(i, elem, "node %s is element %d already", n.Addr, j+1)
			continue
		}
		seen[n.Addr] = i
		if len(nodes) > 0 && uri.Vhost != nodes[0].URI.Vhost {
			bad(i, elem, "vhost %q differs from %q of the first: the nodes of a list serve one vhost", uri.Vhost, nodes[0].URI.Vhost)
			continue
		}
		nodes = append(nodes, n)
	}
	return nodes, errors.Join(errs...)
}

// Addrs returns the host:port of every node, in order.
func Addrs(nodes []Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr
	}
	return out
}

// RedactURL masks the password of one URL; a URL that does not parse is shown as
// "(unparsable URL)", since its text may hold one.
func RedactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Redact masks the password of every element of a comma-separated list.
func Redact(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if strings.TrimSpace(p) != "" {
			parts[i] = RedactURL(p)
		}
	}
	return strings.Join(parts, ",")
}
