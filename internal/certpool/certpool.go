// Package certpool reads the PEM file of CA certificates that a TLS setting names
// (EVENTWORKER_AMQP_CA_FILE, EVENTWORKER_REDIS_CA_FILE, the mail URL's ca_file), so that the
// three connections read and check it the same way.
package certpool

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrNoCertificate reports a CA file that was read but holds no PEM certificate.
var ErrNoCertificate = errors.New("holds no PEM certificate")

// Load returns a pool of the CA certificates in the PEM file at path. Its error names the file
// and says whether it could not be read or held no certificate (ErrNoCertificate).
func Load(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s %w", path, ErrNoCertificate)
	}
	return pool, nil
}
