package worker

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// hostname names this worker's host in its dead letters.
var hostname = func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}()

// panicError is a handler's panic, with the stack it happened on.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

// maxChainErrors bounds the errors a dead letter lists.
const maxChainErrors = 16

// errorChain lists err and every error it wraps, outermost first, each once, depth first through
// errors that wrap several (errors.Join). Each entry is that error's own message.
func errorChain(err error) []any {
	var out []any
	seen := map[string]bool{}
	var walk func(error)
	walk = func(e error) {
		for e != nil && len(out) < maxChainErrors {
			if msg := e.Error(); !seen[msg] {
				seen[msg] = true
				out = append(out, truncate(msg, maxReasonBytes/4))
			}
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, inner := range u.Unwrap() {
					walk(inner)
				}
				return
			default:
				e = errors.Unwrap(e)
			}
		}
	}
	walk(err)
	return out
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
