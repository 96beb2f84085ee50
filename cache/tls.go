package cache

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/certpool"
)

// ErrInvalidCAFile reports a CA file that cannot be read or holds no PEM certificate.
var ErrInvalidCAFile = errors.New("invalid Redis CA file")

// NewClientWithCA is NewClient, trusting the CA certificates in the PEM file caFile instead of
// the system's for a TLS URL (rediss://, rediss+sentinel://, rediss+cluster://). An empty caFile
// is NewClient; a caFile with a URL that does not use TLS is an error, since it would be ignored.
func NewClientWithCA(rawURL, caFile string) (redis.UniversalClient, error) {
	if caFile == "" {
		return NewClient(rawURL)
	}
	p, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	roots, err := certpool.Load(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCAFile, err)
	}
	conf := p.tlsConfig()
	if conf == nil {
		return nil, fmt.Errorf("%w: a CA file is set but redis URL %s does not use TLS: use rediss://", ErrInvalidCAFile, redactURL(rawURL))
	}
	conf.RootCAs = roots
	return p.client(), nil
}
