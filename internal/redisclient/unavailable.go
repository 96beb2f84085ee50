package redisclient

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// IsUnavailable reports whether err says that Redis could not be reached or cannot serve
// right now, whatever the command: no connection (refused, reset, closed, timed out, no free
// connection in the pool), or a server that is loading its data, read-only or down during a
// failover, or full of clients, or a write too few replicas acknowledged (ErrNotReplicated). Such an error is never the fault of the event being handled, so
// the worker retries it for as long as the outage lasts. A command's own error (a script
// error, a wrong type, CROSSSLOT) is not one.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrNotReplicated) {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
			redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
			redis.IsNoReplicasError(err)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted)
}
