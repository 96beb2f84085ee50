package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// PKI is a test certificate authority and a server certificate it issued for localhost and
// 127.0.0.1, as PEM files in the test's temporary directory and as a tls.Certificate.
type PKI struct {
	CAFile   string
	CertFile string
	KeyFile  string
	Leaf     tls.Certificate
}

type pkiPEM struct {
	ca, cert, key []byte
	leaf          tls.Certificate
}

var (
	pkiOnce sync.Once
	pkiData *pkiPEM
	pkiErr  error
)

// Certificates returns the test PKI, generated once per test binary, with its files written
// for this test.
func Certificates(t testing.TB) PKI {
	t.Helper()
	return writePKI(t, t.TempDir())
}

// writePKI writes the test PKI's files into dir as ca.pem, server.pem and server.key.
func writePKI(t testing.TB, dir string) PKI {
	t.Helper()
	pkiOnce.Do(func() { pkiData, pkiErr = generatePKI() })
	if pkiErr != nil {
		t.Fatalf("testenv: generating the test PKI: %v", pkiErr)
	}
	p := PKI{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"), Leaf: pkiData.leaf}
	for path, data := range map[string][]byte{p.CAFile: pkiData.ca, p.CertFile: pkiData.cert, p.KeyFile: pkiData.key} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatalf("testenv: writing %s: %v", path, err)
		}
	}
	return p
}

func generatePKI() (*pkiPEM, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "eventworker test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		return nil, err
	}
	return &pkiPEM{
		ca:   pemBlock("CERTIFICATE", caDER),
		cert: pemBlock("CERTIFICATE", leafDER),
		key:  pemBlock("EC PRIVATE KEY", keyDER),
		leaf: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
	}, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
