package idempotency_test

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/testenv"
)

// slowReplyProxy forwards TCP to addr; once delayNext is set, the next chunk Redis sends back
// waits delay, so the client times out on a command Redis has already run.
type slowReplyProxy struct {
	addr      string
	delay     time.Duration
	delayNext atomic.Bool
}

func (p *slowReplyProxy) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.addr)
			if err != nil {
				_ = client.Close()
				continue
			}
			go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						if p.delayNext.CompareAndSwap(true, false) {
							time.Sleep(p.delay)
						}
						if _, werr := client.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				_ = client.Close()
				_ = server.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestBeginGivesBackALeaseWhoseReplyWasLost: Redis runs Begin's script and takes the lease,
// but the reply comes after the client gave up. Begin reports the error and releases the
// lease by its token, so the event's next delivery takes a lease at once instead of finding
// it held until the lease TTL runs out.
func TestBeginGivesBackALeaseWhoseReplyWasLost(t *testing.T) {
	direct, prefix := newRedis(t)
	proxy := &slowReplyProxy{addr: testenv.RedisAddr(t), delay: 500 * time.Millisecond}
	slow := redis.NewClient(&redis.Options{Addr: proxy.serve(t), ReadTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = slow.Close() })
	ctx := context.Background()

	ok := idempotency.New(direct, prefix, time.Hour, time.Hour)
	lossy := idempotency.New(slow, prefix, time.Hour, time.Hour)
	// Load the script into Redis and open the proxied connection, so that the delayed reply is
	// the script's own.
	if _, _, err := ok.Begin(ctx, consumer, "warm-up"); err != nil {
		t.Fatal(err)
	}
	if err := slow.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	proxy.delayNext.Store(true)
	if state, _, err := lossy.Begin(ctx, consumer, "lost-reply"); err == nil {
		t.Fatalf("Begin through the slow proxy = %s, want a timeout", state)
	}
	state, lease, err := ok.Begin(ctx, consumer, "lost-reply")
	if err != nil || state != idempotency.StateAcquired {
		t.Fatalf("the next Begin = %s, %v; want %s: the lost lease was not given back", state, err, idempotency.StateAcquired)
	}
	_ = lease.Release(ctx)
}
