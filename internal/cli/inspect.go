package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/eventworker/eventworker/internal/debugserver"
)

const inspectSummary = "Show what a running worker is doing: consumers, events in flight, leases, circuits"

const inspectUsage = `Asks a running worker's debug listener (GET /debug/state) what it is doing, and prints its
consumers with the events each is handling, the processing leases it holds and the consumers'
circuits (paused while a service they need is down). --json prints the whole answer, the
worker's configuration (passwords redacted) included.

The worker serves it only when it runs with EVENTWORKER_DEBUG_ADDR set (e.g. 127.0.0.1:6060);
inspect reads the same variable, or --addr. In Kubernetes, inside the pod (the image has the
binary at /eventworker):
  kubectl exec deploy/eventworker -- /eventworker inspect`

// inspectBodyLimit bounds what is read of the answer.
const inspectBodyLimit = 8 << 20

func runInspect(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [--addr ADDR] [--json] [--timeout DURATION]\n\n"+inspectUsage)
	addr := f.String("addr", "", "the debug listener's `ADDR`, host:port (default $EVENTWORKER_DEBUG_ADDR)")
	asJSON := f.Bool("json", false, "print the JSON of /debug/state as the worker answered it")
	timeout := f.Duration("timeout", 5*time.Second, "give up after this `DURATION`")
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	if *timeout <= 0 {
		return e.usageError(path, "--timeout %s must be positive", *timeout)
	}
	listen := *addr
	if listen == "" {
		listen = e.getenv("EVENTWORKER_DEBUG_ADDR")
	}
	if listen == "" {
		return e.usageError(path, "no debug listener to ask: run the worker with EVENTWORKER_DEBUG_ADDR set (e.g. 127.0.0.1:6060), and set it here too or pass --addr")
	}
	target, err := debugStateURL(listen)
	if err != nil {
		return e.fail(path, err)
	}
	body, err := fetchState(ctx, target, listen, *timeout)
	if err != nil {
		return e.fail(path, err)
	}
	if *asJSON {
		_, err = e.stdout.Write(body)
	} else {
		var doc debugserver.Document
		if err = json.Unmarshal(body, &doc); err != nil {
			return e.fail(path, fmt.Errorf("%s: the answer is not the worker's state (is another program listening there?): %w", target, err))
		}
		err = writeInspect(e.stdout, &doc)
	}
	if err != nil {
		return e.fail(path, err)
	}
	return exitOK
}

// debugStateURL turns the debug listener's address into the URL of its state: a listener on
// every interface is reached on 127.0.0.1.
func debugStateURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return "", fmt.Errorf("debug listener address %q is not host:port (example: 127.0.0.1:6060)", listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/debug/state"}).String(), nil
}

// fetchState GETs the state, without a proxy, and returns its body; when nothing listens it
// says what to set on the worker.
func fetchState(ctx context.Context, target, listen string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("nothing listens at %s: is the worker running with EVENTWORKER_DEBUG_ADDR=%s? Its debug listener is off unless that variable is set", listen, listen)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("GET %s: no answer within %s", target, timeout)
	case err != nil:
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, inspectBodyLimit))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s: %s (is it the worker's debug listener, of a version with /debug/state?)", target, resp.Status, oneLine(string(bytes.TrimSpace(body[:min(len(body), 200)]))))
	}
	return body, nil
}

// writeInspect prints the state for people: who the worker is, then one table each for the
// consumers, the events in flight and the leases, then the circuits that are not closed.
func writeInspect(w io.Writer, d *debugserver.Document) error {
	status := "running"
	switch {
	case d.ShuttingDown:
		status = "shutting down: finishing the messages it has"
	case !d.Running:
		status = "not consuming"
	}
	fmt.Fprintf(w, "eventworker %s (%s, %s) on %s, pid %d, up %s: %s\n", d.Version, d.Revision, d.GoVersion, d.Host, d.PID, dur(d.UptimeSeconds, time.Second), status)

	fmt.Fprintln(w, "\nConsumers:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CONSUMER\tQUEUE\tIN FLIGHT\tCONCURRENCY\tCIRCUIT")
	total := 0
	for _, c := range d.Consumers {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\n", c.Name, c.Queue, c.InFlight, c.Concurrency, c.Circuit.State)
		total += c.InFlight
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nIn flight: %d\n", total)
	if total > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONSUMER\tEVENT ID\tTYPE\tTENANT\tATTEMPT\tRUNNING FOR")
		var unlisted []string
		for _, c := range d.Consumers {
			for _, ev := range c.Events {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", c.Name, ev.EventID, ev.EventType, orDash(ev.TenantID), ev.Attempt, dur(ev.AgeSeconds, 100*time.Millisecond))
			}
			if more := c.InFlight - len(c.Events); more > 0 {
				unlisted = append(unlisted, fmt.Sprintf("  %s: %d more, not listed (the oldest are)", c.Name, more))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, line := range unlisted {
			fmt.Fprintln(w, line)
		}
	}

	fmt.Fprintf(w, "\nLeases held: %d\n", len(d.Leases))
	if len(d.Leases) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONSUMER\tEVENT ID\tHELD FOR\tRENEWED\tTTL")
		for _, l := range d.Leases {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s ago\t%s\n", l.Consumer, l.EventID, since(d.Now, l.Since), since(d.Now, l.RenewedAt), dur(l.TTLSeconds, time.Second))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	var notClosed []string
	for _, c := range d.Consumers {
		if c.Circuit.State == "closed" {
			continue
		}
		line := fmt.Sprintf("  %s: %s", c.Name, c.Circuit.State)
		if c.Circuit.Since != nil {
			line += " for " + since(d.Now, *c.Circuit.Since)
		}
		if c.Circuit.UnavailableInARow > 0 {
			line += fmt.Sprintf(", %d unavailable in a row", c.Circuit.UnavailableInARow)
		}
		if c.Circuit.NextProbe != nil {
			line += ", next probe in " + since(*c.Circuit.NextProbe, d.Now)
		}
		if c.Circuit.LastCause != "" {
			line += "; last cause: " + oneLine(c.Circuit.LastCause)
		}
		notClosed = append(notClosed, line)
	}
	if len(notClosed) == 0 {
		_, err := fmt.Fprintln(w, "\nCircuits: all closed")
		return err
	}
	_, err := fmt.Fprintf(w, "\nCircuits not closed:\n%s\n", strings.Join(notClosed, "\n"))
	return err
}

// dur renders seconds as a duration rounded to unit.
func dur(seconds float64, unit time.Duration) string {
	return time.Duration(seconds * float64(time.Second)).Round(unit).String()
}

// since renders now-t rounded to 100ms, never negative.
func since(now, t time.Time) string {
	return max(now.Sub(t), 0).Round(100 * time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
