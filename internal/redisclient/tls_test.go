package redisclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/testenv"
)

// tlsRedis starts a redis-server of its own that speaks only TLS, with the test PKI's server
// certificate, and returns its address.
func tlsRedis(t *testing.T) (addr string, pki testenv.PKI) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server binary: %v", err)
	}
	pki = testenv.Certificates(t)
	port := testenv.FreePort(t)
	cmd := exec.Command(bin, "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--tls-cert-file", pki.CertFile, "--tls-key-file", pki.KeyFile, "--tls-ca-cert-file", pki.CAFile,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, pki
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server with TLS did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisOverTLS(t *testing.T) {
	addr, pki := tlsRedis(t)
	ctx := context.Background()

	rdb, err := redisclient.New("rediss://"+addr+"/0", pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING over TLS with the test CA: %v", err)
	}
	if err := rdb.Set(ctx, "tls:k", "v", time.Minute).Err(); err != nil {
		t.Errorf("SET over TLS: %v", err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), "tls:k") })

	// Without the CA the server's certificate is not trusted.
	plain, err := redisclient.New("rediss://"+addr+"/0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("PING without the CA = %v, want a certificate error", err)
	}

	for _, tt := range []struct{ url, ca, want string }{
		{"redis://" + addr + "/0", pki.CAFile, "does not use TLS"},
		{"rediss://" + addr + "/0", pki.CAFile + ".missing", "no such file"},
		{"rediss://" + addr + "/0", pki.KeyFile, "holds no PEM certificate"},
	} {
		_, err := redisclient.New(tt.url, tt.ca)
		if !errors.Is(err, redisclient.ErrInvalidCAFile) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s, %s) = %v, want ErrInvalidCAFile saying %q", tt.url, tt.ca, err, tt.want)
		}
	}
}
