package broker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

func TestTLSConfig(t *testing.T) {
	pki := testenv.Certificates(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, ca string
		wantNil       bool
		wantErr       string
		// wantServerName is empty: each connection sets its node's (amqpnodes.Dialer).
		wantServerName  string
		wantCertificate bool
	}{
		{name: "no CA file leaves it to amqp091", url: "amqps://u:secret@mq.example/", wantNil: true},
		{name: "CA file", url: "amqps://u:secret@mq.example:5671/vh", ca: pki.CAFile, wantServerName: ""},
		{name: "server name parameter", url: "amqps://mq.example/?server_name_indication=rabbit.internal", ca: pki.CAFile, wantServerName: ""},
		{name: "client certificate parameters", url: "amqps://mq.example/?certfile=" + pki.CertFile + "&keyfile=" + pki.KeyFile, ca: pki.CAFile, wantServerName: "", wantCertificate: true},
		{name: "nodes", url: "amqps://u:secret@mq1.example/vh,amqps://u:secret@mq2.example/vh", ca: pki.CAFile},
		{name: "a node without TLS", url: "amqps://u:secret@mq1.example/vh,amqp://u:secret@mq2.example/vh", ca: pki.CAFile, wantErr: "node 2 of the AMQP URL (mq2.example:5672) uses amqp://"},
		{name: "plain amqp", url: "amqp://u:secret@mq.example/", ca: pki.CAFile, wantErr: "uses amqp://, where it would be ignored: use amqps://"},
		{name: "missing file", url: "amqps://mq.example/", ca: "/nonexistent/ca.pem", wantErr: "no such file"},
		{name: "not PEM", url: "amqps://mq.example/", ca: notPEM, wantErr: "holds no PEM certificate"},
		{name: "bad client certificate", url: "amqps://mq.example/?certfile=/nonexistent&keyfile=/nonexistent", ca: pki.CAFile, wantErr: "client certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf, err := TLSConfig(tc.url, tc.ca)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the error shows the URL's password: %v", err)
				}
				if tc.name != "bad client certificate" && !errors.Is(err, ErrInvalidCAFile) {
					t.Errorf("%v is not ErrInvalidCAFile", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if conf != nil {
					t.Fatalf("got %+v, want nil", conf)
				}
				return
			}
			if conf.RootCAs == nil || conf.ServerName != tc.wantServerName || (len(conf.Certificates) == 1) != tc.wantCertificate {
				t.Errorf("got roots %v, server name %q, %d client certificates", conf.RootCAs != nil, conf.ServerName, len(conf.Certificates))
			}
		})
	}
}
