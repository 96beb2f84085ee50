package certpool

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"a CA certificate", testenv.Certificates(t).CAFile, nil},
		{"missing", filepath.Join(dir, "nope.pem"), fs.ErrNotExist},
		{"not PEM", notPEM, ErrNoCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := Load(tc.path)
			if !errors.Is(err, tc.want) || (err == nil) != (pool != nil) {
				t.Fatalf("Load(%s) = %v, %v; want error %v", tc.path, pool, err, tc.want)
			}
		})
	}
}
