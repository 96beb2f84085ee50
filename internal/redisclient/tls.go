package redisclient

import (
	"errors"
	"fmt"

	"github.com/eventworker/eventworker/internal/certpool"
)

// ErrInvalidCAFile reports a CA file that cannot be read or holds no PEM certificate.
var ErrInvalidCAFile = errors.New("invalid Redis CA file")

// Check reports what New would refuse of rawURL and caFile, without building a client: for a
// check of the whole configuration before anything connects.
func Check(rawURL, caFile string) error {
	_, err := prepare(rawURL, caFile)
	return err
}

// prepare parses rawURL and, when caFile is set, trusts its CAs.
func prepare(rawURL, caFile string) (parsedURL, error) {
	p, err := parseURL(rawURL)
	if err != nil || caFile == "" {
		return p, err
	}
	roots, err := certpool.Load(caFile)
	if err != nil {
		return parsedURL{}, fmt.Errorf("%w: %w", ErrInvalidCAFile, err)
	}
	conf := p.tlsConfig()
	if conf == nil {
		return parsedURL{}, fmt.Errorf("%w: a CA file is set but redis URL %s does not use TLS: use rediss://", ErrInvalidCAFile, redactURL(rawURL))
	}
	conf.RootCAs = roots
	return p, nil
}
