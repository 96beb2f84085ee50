package mailer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// shortTimeout is the mail timeout of the tests whose server stops answering.
const shortTimeout = 400 * time.Millisecond

// stallingServer is a real TCP listener that speaks just enough SMTP (no TLS, no AUTH) and
// stops answering, without closing the connection, at the command that starts with stallAt
// ("" stalls before the greeting). Every connection is closed when the test ends. stalled
// reports whether a connection got there.
func stallingServer(t *testing.T, stallAt string) (addr string, stalled func() bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	var reached atomic.Bool
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { speakUntil(c, stallAt, &reached) })
		}
	})
	return ln.Addr().String(), reached.Load
}

func speakUntil(c net.Conn, stallAt string, reached *atomic.Bool) {
	stall := func() { // until the client or the cleanup closes the connection
		reached.Store(true)
		_, _ = c.Read(make([]byte, 1))
	}
	if stallAt == "" {
		stall()
		return
	}
	r := bufio.NewReader(c)
	reply := func(s string) { _, _ = fmt.Fprintf(c, "%s\r\n", s) }
	reply("220 stall.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		if strings.HasPrefix(cmd, stallAt) {
			stall()
			return
		}
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			reply("250-stall.test\r\n250 8BITMIME")
		case strings.HasPrefix(cmd, "DATA"):
			reply("354 go on")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			if stallAt == "." {
				stall()
				return
			}
			reply("250 queued")
		case strings.HasPrefix(cmd, "QUIT"):
			reply("221 bye")
			return
		default: // MAIL, RCPT, RSET, NOOP
			reply("250 ok")
		}
	}
}

// A mail server that accepts the TCP connection but does not establish the SMTP session within
// the mail timeout (no greeting, no answer to EHLO) is unavailable, like one that refuses the
// connection: no byte of the email was sent. A server that stops answering during the
// transaction is not: the email itself may be the cause, so that is an ordinary transient error.
func TestSendTimeoutBeforeSessionIsUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name, stallAt string
		unavailable   bool
	}{
		{"no greeting", "", true},
		{"no answer to EHLO", "EHLO", true},
		{"no answer to MAIL FROM", "MAIL", false},
		{"no answer to DATA", "DATA", false},
		{"no answer after the email's content", ".", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, stalled := stallingServer(t, tt.stallAt)
			metrics := NewMetrics(nil)
			cfg := testConfig("smtp://" + addr + "?starttls=none")
			cfg.Timeout = shortTimeout
			cfg.Metrics = metrics
			s := openSender(t, cfg)
			start := time.Now()
			err := s.Send(testContext(t), simpleMessage("stalled@shop.example"))
			if elapsed := time.Since(start); elapsed > shortTimeout+2*time.Second {
				t.Errorf("Send took %s, want about the mail timeout of %s", elapsed, shortTimeout)
			}
			if err == nil || IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send = %v, want a transient timeout matching context.DeadlineExceeded", err)
			}
			if !stalled() {
				t.Errorf("the server never got to %q: Send = %v", tt.stallAt, err)
			}
			if IsUnavailable(err) != tt.unavailable {
				t.Errorf("Send = %v: IsUnavailable %v, want %v", err, IsUnavailable(err), tt.unavailable)
			}
			want := 0.0
			if tt.unavailable {
				want = 1
			}
			if got := testutil.ToFloat64(metrics.Unavailable); got != want {
				t.Errorf("eventworker_mail_server_unavailable = %v, want %v", got, want)
			}
		})
	}
}

// The caller's deadline (the handler's, which may end before the mail timeout) ending the dial
// is the server's fault too once the server had half the mail timeout to answer; a caller that
// left the send almost no time is not.
func TestSendCallerDeadlineBeforeSession(t *testing.T) {
	addr, _ := stallingServer(t, "")
	for _, tt := range []struct {
		name        string
		budget      time.Duration
		unavailable bool
	}{
		{"most of the mail timeout", 3 * shortTimeout / 4, true},
		{"a fraction of it", shortTimeout / 8, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("smtp://" + addr + "?starttls=none")
			cfg.Timeout = shortTimeout
			s := openSender(t, cfg)
			ctx, cancel := context.WithTimeout(testContext(t), tt.budget)
			defer cancel()
			err := s.Send(ctx, simpleMessage("caller@shop.example"))
			if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
				t.Fatalf("Send = %v, want the caller's deadline, transient", err)
			}
			if IsUnavailable(err) != tt.unavailable {
				t.Errorf("Send = %v: IsUnavailable %v, want %v", err, IsUnavailable(err), tt.unavailable)
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		cfg := testConfig("smtp://" + addr + "?starttls=none")
		cfg.Timeout = shortTimeout
		s := openSender(t, cfg)
		ctx, cancel := context.WithCancel(testContext(t))
		time.AfterFunc(3*shortTimeout/4, cancel)
		err := s.Send(ctx, simpleMessage("canceled@shop.example"))
		if !errors.Is(err, context.Canceled) || IsUnavailable(err) {
			t.Errorf("Send canceled while dialling = %v, want context.Canceled, not unavailable", err)
		}
	})
}
