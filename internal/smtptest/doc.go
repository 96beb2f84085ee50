// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) inside a test process,
// on 127.0.0.1 and a free port, for tests of code that sends email: the mailer's own tests and
// end-to-end tests of the notifications consumer.
//
// The server speaks plain SMTP, SMTP with STARTTLS or implicit TLS (smtps) with a certificate
// from a CA generated once per test binary (CAFile names it in PEM), and optionally requires
// AUTH PLAIN or LOGIN with one user and password. It keeps every message it accepted with its
// envelope (Messages), counts the TCP connections it accepted (Connections), can answer the
// next commands of a stage with an error (FailNext) and can hang up on its clients
// (DropConnections).
//
//	srv := smtptest.Start(t, smtptest.Options{})
//	sender := openSender(t, "smtp://"+srv.Addr()+"?starttls=none")
//	... send ...
//	msgs := srv.WaitMessages(t, 1, 30*time.Second)
//
// The server stops when the test ends, after the cleanups the test registered later (such as
// closing a client), so a client may still say QUIT. Only tests import this package.
package smtptest
