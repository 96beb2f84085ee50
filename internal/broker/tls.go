package broker

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/eventworker/eventworker/internal/certpool"
	"github.com/eventworker/eventworker/publisher/amqpnodes"
)

// ErrInvalidCAFile reports a CA file for RabbitMQ that cannot be read or holds no PEM
// certificate, or one set for a URL that does not use TLS.
var ErrInvalidCAFile = errors.New("invalid RabbitMQ CA file")

// TLSConfig returns the TLS configuration for the brokers of amqpURL, one URL or a
// comma-separated list of nodes (amqpnodes.Parse), that trusts the CAs in the PEM file caFile
// instead of the system's. An empty caFile returns nil, which leaves amqp091 to build one from
// each node's URL (its cacertfile, certfile, keyfile and server_name_indication parameters;
// the system's CAs without them). With a CA file, every node must use amqps://; the client
// certificate is the first node's certfile and keyfile, and the server name is left empty:
// each connection takes its node's server_name_indication, or else its host
// (amqpnodes.Dialer), so one configuration serves every node.
//
// Every connection to RabbitMQ (the consumer, the confirmer of retries and dead letters, the
// publisher of derived events, the backlog poller, the dlq tool) uses the one configuration.
func TLSConfig(amqpURL, caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	nodes, err := amqpnodes.Parse(amqpURL)
	if err != nil {
		return nil, fmt.Errorf("parse the AMQP URL: %w", err)
	}
	for i, n := range nodes {
		if n.URI.Scheme != "amqps" {
			return nil, fmt.Errorf("%w: %s is set but node %d of the AMQP URL (%s) uses %s://, where it would be ignored: use amqps://", ErrInvalidCAFile, caFile, i+1, n.Addr, n.URI.Scheme)
		}
	}
	roots, err := certpool.Load(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCAFile, err)
	}
	conf := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if uri := nodes[0].URI; uri.CertFile != "" || uri.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(uri.CertFile, uri.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load the AMQP URL's client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
