package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/dlq"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/registry"
)

// dlqSummary is the one line the command table shows for `dlq`.
const dlqSummary = "List, show, replay or purge the consumers' dead letters"

const dlqUsage = `usage: eventworker dlq <subcommand> [flags]

Inspect and repair the dead-letter queues <prefix>.<consumer>.dlq, and the queue
<prefix>.unroutable of the events no queue was bound for (read as the consumer "unroutable";
RabbitMQ sends them there once the policy of deploy/rabbitmq names the alternate exchange).

subcommands:
  list              list dead letters (nothing is removed)
  show EVENT_ID     show the dead letters of one event: every header and the body
  replay            send dead letters back to their consumer's work queue
  purge             delete dead letters

Run 'eventworker dlq <subcommand> --help' for its flags.
`

// dlqSub describes one subcommand of `eventworker dlq`.
type dlqSub struct {
	name, args, help string
	dryRun, json     bool
}

var dlqSubs = []dlqSub{
	{name: "list", help: "List the dead letters that match the filters, consumer by consumer, in queue order. Nothing\nis removed: every message returns to its queue.", json: true},
	{name: "show", args: " EVENT_ID", help: "Show every dead letter of the event EVENT_ID (its event_id, or its message id when the body\nhas none): all headers and the body. Nothing is removed.", json: true},
	{name: "replay", help: "Send the dead letters that match the filters back to their consumer's work queue, with the\nsame body and properties and a fresh attempt count. Each is removed from the dead-letter\nqueue only after RabbitMQ confirmed the copy: an interruption may duplicate an event (the\nworker ignores duplicates by event_id), never lose one.", dryRun: true},
	{name: "purge", help: "Delete the dead letters that match the filters. Without any filter, --all is required.", dryRun: true},
}

// dlqFlags are the parsed flags of a dlq subcommand.
type dlqFlags struct {
	consumers  dlqStringList
	eventType  string
	tenant     string
	since      string
	limit      int
	dryRun     bool
	all        bool
	json       bool
	positional []string
}

// runDLQ is `eventworker dlq`: args are those after "dlq", configuration comes from e's
// environment and the flags, logs (JSON) go to stderr. Help goes to stdout and returns nil; every other problem
// is returned, already free of the AMQP password.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer, e *env) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dlqUsage)
		return errors.New("dlq: a subcommand is required")
	}
	if dlqIsHelp(args[0]) || args[0] == "help" {
		fmt.Fprint(stdout, dlqUsage)
		return nil
	}
	var sub *dlqSub
	for i := range dlqSubs {
		if dlqSubs[i].name == args[0] {
			sub = &dlqSubs[i]
		}
	}
	if sub == nil {
		fmt.Fprint(stderr, dlqUsage)
		return fmt.Errorf("dlq: unknown subcommand %q", args[0])
	}
	fs, fl := sub.flagSet()
	if err := dlqParseArgs(fs, args[1:], &fl.positional); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			sub.usage(stdout, fs)
			return nil
		}
		sub.usage(stderr, fs)
		return fmt.Errorf("dlq %s: %w", sub.name, err)
	}
	filter, err := fl.filter(time.Now())
	if err != nil {
		return fmt.Errorf("dlq %s: %w", sub.name, err)
	}
	switch {
	case sub.name == "show" && len(fl.positional) != 1:
		sub.usage(stderr, fs)
		return errors.New("dlq show: exactly one EVENT_ID is required")
	case sub.name != "show" && len(fl.positional) > 0:
		return fmt.Errorf("dlq %s: unexpected argument %q", sub.name, fl.positional[0])
	case sub.name == "purge" && !fl.dryRun && !fl.all && filter.IsEmpty():
		return errors.New("dlq purge: without a filter this deletes every dead letter of every consumer; " +
			"pass --all to confirm, or narrow it with --consumer, --type, --tenant, --since or --limit (--dry-run shows what would go)")
	}

	cfg, err := e.loadConfig(fs, nil)
	if err != nil {
		return err
	}
	log := dlqLogger(stderr, cfg.LogLevel)
	secrets := dlqPasswords(cfg.AMQPURL)
	tool, closeTool, err := openDLQ(cfg)
	if err != nil {
		return dlqRedact(err, secrets)
	}
	defer closeTool()
	err = sub.run(ctx, tool, filter, fl, stdout, log)
	return dlqRedact(err, secrets)
}

func (s *dlqSub) run(ctx context.Context, tool *dlq.Tool, f dlq.Filter, fl *dlqFlags, stdout io.Writer, log *slog.Logger) error {
	switch s.name {
	case "list":
		entries, err := tool.List(ctx, f)
		if err != nil {
			return fmt.Errorf("dlq list: %w", err)
		}
		dlqWarnRedeliveries(log, entries)
		if fl.json {
			return dlqWriteJSON(stdout, entries)
		}
		return dlqWriteTable(stdout, entries)
	case "show":
		entries, err := tool.Show(ctx, fl.positional[0], f)
		if err != nil {
			return fmt.Errorf("dlq show: %w", err)
		}
		dlqWarnRedeliveries(log, entries)
		if fl.json {
			return dlqWriteJSON(stdout, entries)
		}
		for i, e := range entries {
			if i > 0 {
				fmt.Fprintln(stdout, "---")
			}
			dlqWriteEntry(stdout, e)
		}
		return nil
	case "replay":
		n, err := tool.Replay(ctx, f, fl.dryRun, log)
		if fl.dryRun {
			fmt.Fprintf(stdout, "would replay %d dead letter(s) (dry run: nothing moved)\n", n)
		} else {
			fmt.Fprintf(stdout, "replayed %d dead letter(s)\n", n)
		}
		if err != nil {
			return fmt.Errorf("dlq replay: %w", err)
		}
		return nil
	case "purge":
		n, err := tool.Purge(ctx, f, fl.dryRun, log)
		if fl.dryRun {
			fmt.Fprintf(stdout, "would purge %d dead letter(s) (dry run: nothing deleted)\n", n)
		} else {
			fmt.Fprintf(stdout, "purged %d dead letter(s)\n", n)
		}
		if err != nil {
			return fmt.Errorf("dlq purge: %w", err)
		}
		return nil
	}
	return fmt.Errorf("dlq: unknown subcommand %q", s.name)
}

// dlqRedeliveryWarning is the delivery count of a dead letter from which the command warns.
const dlqRedeliveryWarning = 10

// dlqWarnRedeliveries warns when dead letters have been read often: each read returns them to a
// quorum queue with a higher x-delivery-count, and a quorum queue with a delivery limit (on
// RabbitMQ 4 there is one by default) drops a message that reaches it.
func dlqWarnRedeliveries(log *slog.Logger, entries []dlq.Entry) {
	most := 0
	for _, e := range entries {
		most = max(most, e.DeliveryCount)
	}
	if most >= dlqRedeliveryWarning {
		log.Warn("dead letters have been read many times; a quorum queue with a delivery limit drops a message that reaches it: "+
			"replay or purge them, or lift the limit of the dead-letter queues", "max_delivery_count", most)
	}
}

// openDLQ connects to RabbitMQ, the first node of EVENTWORKER_AMQP_URL that answers, and returns the dlq tool for the registry's consumers.
func openDLQ(cfg *config.Config) (*dlq.Tool, func(), error) {
	var reg *registry.Registry
	var err error
	if cfg.RegistryFile == "" {
		reg, err = registry.Default()
	} else {
		reg, err = registry.LoadFile(cfg.RegistryFile)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load the registry: %w", err)
	}
	amqpTLS, err := broker.TLSConfig(cfg.AMQPURL, cfg.AMQPCAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("EVENTWORKER_AMQP_CA_FILE: %w", err)
	}
	confirmer := broker.NewConfirmer(cfg.AMQPURL, "eventworker-dlq", 10*time.Second, amqpTLS)
	conn, err := confirmer.Connection()
	if err != nil {
		_ = confirmer.Close()
		return nil, nil, err
	}
	return dlq.New(conn, confirmer, cfg.QueuePrefix, reg.Exchange(), reg.Consumers()), func() { _ = confirmer.Close() }, nil
}

func (s *dlqSub) flagSet() (*flag.FlagSet, *dlqFlags) {
	fl := &dlqFlags{}
	fs := flag.NewFlagSet("eventworker dlq "+s.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; usage is printed by the caller
	fs.Var(&fl.consumers, "consumer", "consumer whose dead letters to read; repeat it or give a comma list (default: every consumer of the registry, and unroutable)")
	fs.StringVar(&fl.eventType, "type", "", "only events of this type (the body's event_type or the original routing key)")
	fs.StringVar(&fl.tenant, "tenant", "", "only events of this tenant_id")
	fs.StringVar(&fl.since, "since", "", "only dead letters whose last failure is at or after this RFC 3339 time, or within this duration (24h, 90m, 7d)")
	fs.IntVar(&fl.limit, "limit", 0, "at most this many dead letters (0: no limit)")
	if s.json {
		fs.BoolVar(&fl.json, "json", false, "print JSON instead of text")
	}
	if s.dryRun {
		fs.BoolVar(&fl.dryRun, "dry-run", false, "change nothing; report what would be done")
	}
	if s.name == "purge" {
		fs.BoolVar(&fl.all, "all", false, "confirm a purge without any filter: delete every dead letter")
	}
	config.RegisterFlags(fs)
	return fs, fl
}

// dlqOwnFlags are the flags of the dlq subcommands that are not configuration flags.
var dlqOwnFlags = map[string]bool{"consumer": true, "type": true, "tenant": true, "since": true, "limit": true, "json": true, "dry-run": true, "all": true}

func (s *dlqSub) usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: eventworker dlq %s%s [flags]\n\n%s\n\nflags:\n", s.name, s.args, s.help)
	dlqPrintFlags(w, fs, func(name string) bool { return dlqOwnFlags[name] })
	fmt.Fprintln(w, "\nconfiguration flags (each overrides its environment variable):")
	dlqPrintFlags(w, fs, func(name string) bool { return !dlqOwnFlags[name] })
}

func dlqPrintFlags(w io.Writer, fs *flag.FlagSet, keep func(string) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
}

// dlqParseArgs parses flags and positional arguments in any order.
func dlqParseArgs(fs *flag.FlagSet, args []string, positional *[]string) error {
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			return nil
		}
		if args[0] == "--" {
			*positional = append(*positional, args[1:]...)
			return nil
		}
		*positional = append(*positional, args[0])
		args = args[1:]
	}
}

func dlqIsHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

func (fl *dlqFlags) filter(now time.Time) (dlq.Filter, error) {
	f := dlq.Filter{Consumers: fl.consumers, EventType: fl.eventType, Tenant: fl.tenant, Limit: fl.limit}
	if fl.limit < 0 {
		return f, fmt.Errorf("--limit %d must not be negative", fl.limit)
	}
	if fl.since != "" {
		t, err := dlqParseSince(fl.since, now)
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	return f, nil
}

// dlqParseSince reads --since: an RFC 3339 time, or a duration (Go's, or whole days like 7d)
// meaning "within the last".
func dlqParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q is neither an RFC 3339 time (2026-11-26T10:00:00Z) nor a duration (24h, 90m, 7d)", s)
}

// dlqStringList is a repeatable flag that also takes comma lists.
type dlqStringList []string

func (l *dlqStringList) String() string { return strings.Join(*l, ",") }

func (l *dlqStringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

func dlqWriteJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// dlqReasonColumn is how much of a reason the list table shows.
const dlqReasonColumn = 80

func dlqWriteTable(w io.Writer, entries []dlq.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tEVENT_ID\tEVENT_TYPE\tTENANT\tCLASS\tATTEMPTS\tLAST_FAILURE\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Consumer, dlqCell(e.EventID), dlqCell(e.EventType), dlqCell(e.TenantID),
			dlqCell(e.Class), e.Attempts, dlqCellTime(e.LastFailure), dlqTruncate(dlqCell(e.Reason), dlqReasonColumn))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d dead letter(s)\n", len(entries))
	return err
}

func dlqWriteEntry(w io.Writer, e dlq.Entry) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("consumer", e.Consumer)
	row("queue", e.Queue)
	row("event_id", dlqCell(e.EventID))
	row("event_type", dlqCell(e.EventType))
	row("tenant_id", dlqCell(e.TenantID))
	row("routing_key", dlqCell(e.RoutingKey))
	row("class", dlqCell(e.Class))
	row("reason", dlqCell(dlqOneLine(e.Reason)))
	row("attempts", strconv.Itoa(e.Attempts))
	row("replayed", strconv.Itoa(e.Replayed))
	row("first_failure", dlqCellTime(e.FirstFailure))
	row("last_failure", dlqCellTime(e.LastFailure))
	if e.Host != "" {
		row("host", e.Host)
	}
	for i, msg := range e.Errors {
		row(fmt.Sprintf("error[%d]", i), dlqOneLine(msg))
	}
	p := e.Properties
	row("content_type", dlqCell(p.ContentType))
	if p.ContentEncoding != "" {
		row("content_encoding", p.ContentEncoding)
	}
	row("message_id", dlqCell(p.MessageID))
	row("correlation_id", dlqCell(p.CorrelationID))
	row("app_id", dlqCell(p.AppID))
	if p.Type != "" {
		row("type", p.Type)
	}
	row("timestamp", dlqCellTime(p.Timestamp))
	_ = tw.Flush()

	if e.Stack != "" {
		fmt.Fprintln(w, "stack:")
		for _, line := range strings.Split(strings.TrimRight(e.Stack, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	fmt.Fprintln(w, "headers:")
	h := dlq.JSONHeaders(e.Headers)
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != broker.HeaderStack && k != broker.HeaderErrors { // shown above
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v string
		if s, ok := h[k].(string); ok {
			v = dlqOneLine(s)
		} else {
			b, _ := json.Marshal(h[k])
			v = string(b)
		}
		fmt.Fprintf(w, "  %s: %s\n", k, v)
	}
	if len(keys) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	fmt.Fprintf(w, "body (%d bytes):\n", len(e.Body))
	var pretty bytes.Buffer
	switch {
	case json.Indent(&pretty, e.Body, "  ", "  ") == nil:
		fmt.Fprintf(w, "  %s\n", pretty.Bytes())
	case utf8.Valid(e.Body):
		fmt.Fprintf(w, "  (not JSON) %s\n", strings.ReplaceAll(string(e.Body), "\n", "\n  "))
	default:
		fmt.Fprintf(w, "  (not UTF-8; base64) %s\n", base64.StdEncoding.EncodeToString(e.Body))
	}
}

func dlqCell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dlqCellTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dlqOneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// dlqTruncate shortens s to at most n runes, on one line.
func dlqTruncate(s string, n int) string {
	s = dlqOneLine(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func dlqLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return logging.New(w, l)
}

// dlqPasswords returns the passwords of an AMQP URL or list of node URLs, to scrub them from
// errors.
func dlqPasswords(raw string) []string {
	var out []string
	for _, part := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.User == nil {
			continue
		}
		if p, _ := u.User.Password(); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dlqRedact makes sure an error never shows an AMQP password.
func dlqRedact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, secret := range secrets {
		msg = strings.ReplaceAll(msg, secret, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
