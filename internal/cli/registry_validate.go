package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/eventworker/eventworker/registry"
)

// maxLineBytes bounds one input line: message bodies run to a few MiB at most.
const maxLineBytes = 16 << 20

const validateUsage = `Usage: %[1]s [--registry FILE] [--json] [FILE|-]

Validates events against the registry. FILE (default "-", standard input) holds one JSON object
per line; blank lines are skipped; a line may be up to 16 MiB long. A line is either

  an event envelope, checked as if it arrived with its own event_type as routing key:
    {"event_id":"…","event_type":"order.created","event_version":1,"occurred_at":"…","tenant_id":"acme","data":{…}}

  or a wrapper naming the routing key it arrived with, to check that they agree:
    {"routing_key":"order.created","body":{…the envelope…}}
  (a line is a wrapper when its "body" member is an object; "routing_key" may be left out).

Prints one verdict per line, with every failure of an invalid event as "JSON pointer: message"
(pointers are within the envelope):
  line 1: ok order.created v1 3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f61
  line 2: invalid: /data/currency: …; /occurred_at: …

With --json, each verdict is one JSON object per line instead:
  {"line":2,"valid":false,"event_type":"order.created","event_version":1,"event_id":"…",
   "failures":[{"pointer":"/data/currency","message":"…"}]}

A count of valid and invalid events goes to stderr. Exit status: 0 when every event is valid,
1 when any is invalid or the input cannot be read, 2 on a usage error.`

// verdict is the outcome for one input line; its JSON form is what --json prints.
type verdict struct {
	Line         int                `json:"line"`
	Valid        bool               `json:"valid"`
	EventType    string             `json:"event_type"`
	EventVersion int                `json:"event_version"`
	EventID      string             `json:"event_id"`
	Failures     []registry.Failure `json:"failures"`
}

func runRegistryValidate(ctx context.Context, e *env, path string, args []string, file *registryFile) int {
	f := newFlags(path, fmt.Sprintf(validateUsage, path))
	file.register(f)
	asJSON := f.Bool("json", false, "print each verdict as a JSON object")
	rest, status, ok := f.parse(e, args)
	if !ok {
		return status
	}
	if len(rest) > 1 {
		return e.usageError(path, "takes one input file (or - for standard input), got %d", len(rest))
	}
	name := "-"
	if len(rest) == 1 {
		name = rest[0]
	}
	reg, err := file.load()
	if err != nil {
		return e.fail(path, err)
	}
	in := e.stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return e.fail(path, fmt.Errorf("open the events to validate: %w", err))
		}
		defer fh.Close()
		in = fh
	} else {
		name = "standard input"
	}

	out := newVerdictWriter(e.stdout, *asJSON)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	lineNo, valid, invalid := 0, 0, 0
	for sc.Scan() {
		lineNo++
		if err := ctx.Err(); err != nil {
			return e.fail(path, fmt.Errorf("stopped at line %d of %s: %w", lineNo, name, err))
		}
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		v := validateLine(reg, line)
		v.Line = lineNo
		if v.Valid {
			valid++
		} else {
			invalid++
		}
		if err := out.write(v); err != nil {
			return e.fail(path, fmt.Errorf("write verdict: %w", err))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line %d of %s is longer than %d MiB; is it one JSON object per line?", lineNo+1, name, maxLineBytes>>20)
		} else {
			err = fmt.Errorf("read %s: %w", name, err)
		}
		return e.fail(path, err)
	}
	fmt.Fprintf(e.stderr, "%d events: %d valid, %d invalid\n", valid+invalid, valid, invalid)
	if invalid > 0 {
		return exitFail
	}
	return exitOK
}

// validateLine checks one non-blank input line, an envelope or a wrapper.
func validateLine(reg *registry.Registry, line []byte) verdict {
	routingKey, body, failure := splitWrapper(line)
	if failure != nil {
		return verdict{Failures: []registry.Failure{*failure}}
	}
	ev, err := reg.Validate(routingKey, body)
	if err == nil {
		return verdict{Valid: true, EventType: ev.Type, EventVersion: ev.Version, EventID: ev.ID, Failures: []registry.Failure{}}
	}
	var verr *registry.ValidationError
	if !errors.As(err, &verr) {
		return verdict{Failures: []registry.Failure{{Message: err.Error()}}}
	}
	// Sorted by pointer so that the same input always gives the same output, whatever order the
	// schema validator found the failures in.
	failures := slices.Clone(verr.Failures)
	slices.SortStableFunc(failures, func(a, b registry.Failure) int { return strings.Compare(a.Pointer, b.Pointer) })
	return verdict{EventType: verr.EventType, EventVersion: verr.Version, EventID: verr.EventID, Failures: failures}
}

// splitWrapper returns the routing key and body of a wrapper line, or ("", line) for an envelope
// (or anything that is not a JSON object, which Validate then reports). A wrapper whose
// routing_key is not a non-empty string yields a failure.
func splitWrapper(line []byte) (string, []byte, *registry.Failure) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(line, &probe); err != nil {
		return "", line, nil
	}
	body, ok := probe["body"]
	if !ok || !isJSONObject(body) {
		return "", line, nil
	}
	raw, ok := probe["routing_key"]
	if !ok {
		return "", body, nil
	}
	var rk string
	if err := json.Unmarshal(raw, &rk); err != nil || rk == "" {
		return "", nil, &registry.Failure{Pointer: "/routing_key", Message: "the wrapper's routing_key must be a non-empty string, or left out"}
	}
	return rk, body, nil
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// verdictWriter prints verdicts as text or JSON lines.
type verdictWriter struct {
	w    io.Writer
	json *json.Encoder
}

func newVerdictWriter(w io.Writer, asJSON bool) *verdictWriter {
	vw := &verdictWriter{w: w}
	if asJSON {
		vw.json = json.NewEncoder(w)
		vw.json.SetEscapeHTML(false)
	}
	return vw
}

func (vw *verdictWriter) write(v verdict) error {
	if vw.json != nil {
		return vw.json.Encode(v)
	}
	var err error
	if v.Valid {
		_, err = fmt.Fprintf(vw.w, "line %d: ok %s v%d %s\n", v.Line, v.EventType, v.EventVersion, v.EventID)
	} else {
		_, err = fmt.Fprintf(vw.w, "line %d: invalid: %s\n", v.Line, (&registry.ValidationError{Failures: v.Failures}).Reason())
	}
	return err
}
