package mailer

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A TCP connect that does not complete within the mail timeout is unavailable. The listener
// has a backlog of 0 and never accepts: once one connection fills its queue, Linux drops the
// SYNs of the next, so its connect hangs as it does behind a firewall that drops packets.
func TestSendConnectTimeoutIsUnavailable(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = filler.Close() })
	if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
		_ = c.Close()
		t.Fatal("the kernel completed a connect to a listener whose queue is full: the test cannot make a connect time out")
	}

	cfg := testConfig("smtp://" + addr + "?starttls=none")
	cfg.Timeout = shortTimeout
	s := openSender(t, cfg)
	err = s.Send(testContext(t), simpleMessage("syn@shop.example"))
	// Whichever deadline ends the connect first (the send's or go-mail's, both the mail
	// timeout) the error is a timeout: a context deadline or the socket's "i/o timeout".
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	if !IsUnavailable(err) || !timeout || IsPermanent(err) {
		t.Errorf("Send whose connect times out = %v, want ErrUnavailable and a transient timeout", err)
	}
}
