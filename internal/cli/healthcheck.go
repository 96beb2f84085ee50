package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/eventworker/eventworker/config"
)

const healthcheckSummary = "Probe the worker's /healthz or /readyz, for a container HEALTHCHECK"

const healthcheckUsage = `Asks the running worker's HTTP listener whether it is healthy, for a container's HEALTHCHECK
(the image has no shell and no curl): GET /healthz, or /readyz with --ready, on 127.0.0.1 at
the port of $EVENTWORKER_HTTP_ADDR (default :9090; a specific host in it is used as given).
Exits 0 when the answer is 200, else 1 with one line saying what failed.`

// healthcheckBodyLimit bounds what is read of an answer and shown of a failure's body.
const healthcheckBodyLimit = 512

func runHealthcheck(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [--ready] [--http-addr ADDR | --url URL] [--timeout DURATION]\n\n"+healthcheckUsage)
	ready := f.Bool("ready", false, "probe /readyz (connected, consuming, Redis answering) instead of /healthz")
	addr := f.String("http-addr", "", "the worker's listen `ADDR` (default $EVENTWORKER_HTTP_ADDR, else :9090)")
	rawURL := f.String("url", "", "probe this `URL` instead; overrides --http-addr and --ready")
	timeout := f.Duration("timeout", 3*time.Second, "give up after this `DURATION`")
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	if *timeout <= 0 {
		return e.usageError(path, "--timeout %s must be positive", *timeout)
	}
	target := *rawURL
	if target == "" {
		listen := *addr
		if listen == "" {
			listen = e.getenv("EVENTWORKER_HTTP_ADDR")
		}
		if listen == "" {
			listen = config.Default().HTTPAddr
		}
		probe := "/healthz"
		if *ready {
			probe = "/readyz"
		}
		var err error
		if target, err = healthcheckURL(listen, probe); err != nil {
			return e.fail(path, err)
		}
	} else if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return e.usageError(path, "--url %q is not an http:// or https:// URL", target)
	}
	if err := probeHealth(ctx, target, *timeout); err != nil {
		return e.fail(path, err)
	}
	fmt.Fprintf(e.stdout, "ok: %s answered 200\n", target)
	return exitOK
}

// healthcheckURL turns the worker's listen address into the URL to probe: a listener on every
// interface (":9090", "0.0.0.0:9090", "[::]:9090") is reached on 127.0.0.1.
func healthcheckURL(listen, probe string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return "", fmt.Errorf("EVENTWORKER_HTTP_ADDR %q is not host:port or :port", listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: probe}).String(), nil
}

// probeHealth GETs target within timeout and returns nil on 200, else an error of one line.
// It ignores HTTP_PROXY and friends (a probe of the worker itself must never go through a
// proxy) and follows no redirect.
func probeHealth(ctx context.Context, target string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: no answer within %s", target, timeout)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, healthcheckBodyLimit))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	msg := fmt.Sprintf("%s answered %s", target, resp.Status)
	if text := oneLine(string(body)); text != "" {
		msg += ": " + text
	}
	return errors.New(msg)
}

// oneLine joins the lines of s with "; " and squeezes its spaces and control characters, so
// a failure is reported on one line.
func oneLine(s string) string {
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.Join(strings.FieldsFunc(line, func(r rune) bool {
			return r == ' ' || r == '\t' || r < 0x20 || r == 0x7f
		}), " "); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}
