package httplisten

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestLifeCycle(t *testing.T) {
	t.Parallel()
	l := New("127.0.0.1:0")
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	if err := l.Start(context.Background(), srv); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background(), srv); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Start: %v, want ErrAlreadyStarted", err)
	}
	resp, err := http.Get("http://" + l.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("served %q", body)
	}
	// A second listener on the same port: the listen error, for the caller to name.
	taken := New(l.Addr())
	var opErr *net.OpError
	if err := taken.Start(context.Background(), &http.Server{}); !errors.As(err, &opErr) {
		t.Errorf("Start on a taken port: %v, want the listener's error", err)
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := l.Start(context.Background(), srv); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("Start after Shutdown: %v, want ErrAlreadyStarted", err)
	}
}
