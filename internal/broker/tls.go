package broker

import (
	"crypto/tls"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/certpool"
)

// ErrInvalidCAFile reports a CA file for RabbitMQ that cannot be read or holds no PEM
// certificate, or one set for a URL that does not use TLS.
var ErrInvalidCAFile = errors.New("invalid RabbitMQ CA file")

// TLSConfig returns the TLS configuration for the broker at amqpURL that trusts the CAs in the
// PEM file caFile instead of the system's. An empty caFile returns nil, which leaves amqp091
// to build one from the URL (its cacertfile, certfile, keyfile and server_name_indication
// parameters; the system's CAs without them). The URL's client certificate and server name
// parameters are honoured either way.
//
// Every connection to RabbitMQ (the consumer, the confirmer of retries and dead letters, the
// publisher of derived events, the dlq tool) uses the one configuration.
func TLSConfig(amqpURL, caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	uri, err := amqp.ParseURI(amqpURL)
	if err != nil {
		return nil, fmt.Errorf("parse the AMQP URL: %w", err)
	}
	if uri.Scheme != "amqps" {
		return nil, fmt.Errorf("%w: %s is set but the AMQP URL uses %s://, where it would be ignored: use amqps://", ErrInvalidCAFile, caFile, uri.Scheme)
	}
	roots, err := certpool.Load(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCAFile, err)
	}
	conf := &tls.Config{RootCAs: roots, ServerName: uri.Host, MinVersion: tls.VersionTLS12}
	if uri.ServerName != "" {
		conf.ServerName = uri.ServerName
	}
	if uri.CertFile != "" || uri.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(uri.CertFile, uri.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load the AMQP URL's client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
