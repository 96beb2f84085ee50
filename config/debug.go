package config

import (
	"net"
	"strconv"
)

// validateDebugAddr checks EVENTWORKER_DEBUG_ADDR: empty (off), or host:port on a port of its
// own. The metrics listener is scraped, and often reachable beyond the host; profiles and the
// worker's state must never be served with it.
func (c *Config) validateDebugAddr(bad func(string, ...any)) {
	if c.DebugAddr == "" {
		return
	}
	_, port, err := net.SplitHostPort(c.DebugAddr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 {
		bad("EVENTWORKER_DEBUG_ADDR: %q is not host:port (example: 127.0.0.1:6060)", c.DebugAddr)
		return
	}
	_, httpPort, err := net.SplitHostPort(c.HTTPAddr)
	m, merr := strconv.Atoi(httpPort)
	// As numbers: 019090 is port 19090.
	if err != nil || merr != nil || n == 0 || n != m {
		return
	}
	bad("EVENTWORKER_DEBUG_ADDR: %s is on the port of EVENTWORKER_HTTP_ADDR (%s), which serves /metrics and the probes: give the debug listener a port of its own, on the loopback interface (example: 127.0.0.1:6060)", c.DebugAddr, c.HTTPAddr)
}
