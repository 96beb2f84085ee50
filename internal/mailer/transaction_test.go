package mailer

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedServer is an SMTP server that records every command a client sends, to see which round
// trips a send costs; it accepts everything.
type scriptedServer struct {
	ln   net.Listener
	mu   sync.Mutex
	cmds []string
}

func startScripted(t *testing.T) *scriptedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *scriptedServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = fmt.Fprintf(c, "%s\r\n", line) }
	say("220 scripted ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.Fields(strings.TrimSpace(line) + " x")[0])
		s.mu.Lock()
		s.cmds = append(s.cmds, cmd)
		s.mu.Unlock()
		switch cmd {
		case "EHLO":
			say("250-scripted")
			say("250 8BITMIME")
		case "DATA":
			say("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *scriptedServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// TestSendCostsOnlyTheTransaction: on a reused connection an email costs MAIL FROM, RCPT TO and
// DATA, and nothing else: no NOOP before it, no RSET after it (go-mail's own send path adds
// both, two round trips per email).
func TestSendCostsOnlyTheTransaction(t *testing.T) {
	srv := startScripted(t)
	s, err := Open(testContext(t), Config{URL: "smtp://" + srv.ln.Addr().String() + "?starttls=none", Timeout: 5 * time.Second, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		if err := s.Send(testContext(t), simpleMessage(fmt.Sprintf("m%d@shop.example", i))); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(srv.commands(), " ")
	want := "EHLO MAIL RCPT DATA MAIL RCPT DATA MAIL RCPT DATA"
	if got != want {
		t.Errorf("commands = %s\nwant       %s", got, want)
	}
}
