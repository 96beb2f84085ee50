package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/registry"
)

// templates maps each event type the notifications consumer receives to the email it sends.
var templates = map[string]string{
	"order.created":         emails.OrderReceived,
	"order.pending_payment": emails.PaymentReminder,
	"order.confirmed":       emails.OrderConfirmed,
	"order.cancelled":       emails.OrderCancelled,
	"user.registered":       emails.Welcome,
	"tenant.provisioned":    emails.TenantWelcome,
	"product.inventory_low": emails.LowStock,
}

// report is what the demo found after its last step, and the expectations that failed.
type report struct {
	Dir, Outbox, LogFile string
	RedisAddr            string
	// AMQPURL and RedisURL are the worker's configuration: no broker, the embedded Redis.
	AMQPURL, RedisURL  string
	HTTPAddr, HTTPNote string
	Steps              []step
	Published          int
	Elapsed            time.Duration

	Emails      []email
	Suppressed  []email
	Products    []keyValue // product entries and their version
	Generations []keyValue
	UsersKept   []string // seeded user entries still there (none expected)
	UsersGone   []string // seeded user entries user.updated dropped
	Purge       purge
	Derived     []derived
	Tenants     []tenants.Profile
	Analytics   []tenantCounts
	DeadLetters []deadLetter
	Metrics     metricsSummary

	Problems []string
}

type email struct {
	Template, To, Path, EventType, EventID, Tenant string
}

type keyValue struct{ Key, Value string }

type purge struct {
	Tenant               string
	Removed, Left        []string
	GenBefore, GenAfter  int64
	KeysPurgedMetric     float64
	OtherList, OtherKept string
}

type derived struct {
	ID, Tenant, ProductID string
	Quantity, Threshold   int64
	CorrelationID         string
	// CausationID is the source event; its type, step and source as the demo published it.
	CausationID, CausationType, CausationStep, CausationSource string
}

type tenantCounts struct {
	Tenant   string
	Days     []analytics.Day
	Got      map[string]int64
	Expected map[string]int64
}

type deadLetter struct {
	Consumer, EventType, EventID, Class, Reason string
	Attempts                                    int
}

type metricsSummary struct {
	Received   []keyValue // "order.created v2" -> count
	Consumers  []string
	Outcomes   map[string]map[string]float64 // consumer -> outcome -> count
	Dead       []keyValue                    // "notifications/permanent" -> count
	Sent       []keyValue                    // template -> count
	Suppressed []keyValue                    // template -> count
	Purged     float64
	Handled    []keyValue // consumer -> "N calls, mean D"
}

func (rep *report) problem(format string, args ...any) {
	rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
}

// collect reads the effects from the outbox, Redis, the transport and the metrics, and checks
// them against what the script published.
func (r *rig) collect(ctx context.Context, elapsed time.Duration) (*report, error) {
	s := r.script
	rep := &report{
		Dir: r.dir, Outbox: r.outbox, LogFile: r.logPath, RedisAddr: r.redis.Addr(), AMQPURL: r.cfg.AMQPURL, RedisURL: r.cfg.RedisURL,
		HTTPAddr: r.httpAddr, HTTPNote: r.httpNote, Steps: s.steps, Published: len(s.sent), Elapsed: elapsed,
	}
	fams, err := r.prom.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather the metrics: %w", err)
	}
	rep.Metrics = summarize(fams)
	if err := r.collectEmails(rep); err != nil {
		return nil, err
	}
	if err := r.collectCache(ctx, rep); err != nil {
		return nil, err
	}
	r.collectDerived(rep)
	if err := r.collectTenants(ctx, rep); err != nil {
		return nil, err
	}
	if err := r.collectAnalytics(ctx, rep); err != nil {
		return nil, err
	}
	r.collectDeadLetters(rep)
	r.checkMetrics(rep)
	return rep, nil
}

// expectedEmail is an email some event must (or, suppressed, must not) have sent.
type expectedEmail struct {
	ev         *registry.Event
	template   string
	suppressed bool
}

func (r *rig) collectEmails(rep *report) error {
	s := r.script
	want := map[string]expectedEmail{} // by Message-ID
	add := func(ev *registry.Event, suppressed bool) {
		t, ok := templates[ev.Type]
		if !ok {
			rep.problem("the demo knows no email template for %s, which the notifications consumer receives", ev.Type)
			return
		}
		want[handlers.MessageID(ev.ID, t, r.from.Email)] = expectedEmail{ev: ev, template: t, suppressed: suppressed}
	}
	for _, e := range s.sent {
		if e.Event != nil && slices.Contains(r.reg.ConsumersOf(e.Type), handlers.ConsumerNotifications) {
			add(e.Event, e.Suppressed)
		}
	}
	for _, ev := range r.derived.published() {
		add(ev, false)
	}

	entries, err := os.ReadDir(r.outbox)
	if err != nil {
		return fmt.Errorf("read the outbox: %w", err)
	}
	found := map[string]bool{}
	for _, de := range entries {
		path := filepath.Join(r.outbox, de.Name())
		if de.IsDir() || filepath.Ext(de.Name()) != ".eml" {
			rep.problem("the outbox holds %s, which is not an .eml file", path)
			continue
		}
		id, to, err := readEmail(path)
		if err != nil {
			rep.problem("outbox file %s is not a parseable email: %v", path, err)
			continue
		}
		found[id] = true
		e := email{Template: templateOf(id), To: domainOf(to), Path: path, EventType: "?"}
		w, ok := want[id]
		switch {
		case !ok:
			rep.problem("unexpected email %s (Message-ID %s): no published event explains it", path, id)
		case w.suppressed:
			rep.problem("%s email for %s %s of suspended tenant %s was sent (%s)", w.template, w.ev.Type, w.ev.ID, w.ev.TenantID, path)
		default:
			e.EventType, e.EventID, e.Tenant = w.ev.Type, w.ev.ID, w.ev.TenantID
		}
		rep.Emails = append(rep.Emails, e)
	}
	for id, w := range want {
		switch {
		case w.suppressed && !found[id]:
			rep.Suppressed = append(rep.Suppressed, email{Template: w.template, EventType: w.ev.Type, EventID: w.ev.ID, Tenant: w.ev.TenantID})
		case !w.suppressed && !found[id]:
			rep.problem("no %s email in the outbox for %s %s of %s", w.template, w.ev.Type, w.ev.ID, w.ev.TenantID)
		}
	}
	sort.Slice(rep.Emails, func(i, j int) bool {
		a, b := rep.Emails[i], rep.Emails[j]
		return cmpStrings([]string{a.Template, a.Tenant, a.EventType, a.To, a.Path}, []string{b.Template, b.Tenant, b.EventType, b.To, b.Path}) < 0
	})
	sort.Slice(rep.Suppressed, func(i, j int) bool { return rep.Suppressed[i].EventID < rep.Suppressed[j].EventID })
	if len(rep.Suppressed) == 0 {
		rep.problem("no email was suppressed for the suspended tenant %s", s.tenants[1])
	}
	lowStock := 0
	for _, e := range rep.Emails {
		if e.Template == emails.LowStock && e.EventType == "product.inventory_low" {
			lowStock++
		}
	}
	if lowStock == 0 {
		rep.problem("no low-stock email was written")
	}
	return nil
}

// readEmail parses an .eml file and returns its Message-ID (without brackets) and recipient.
func readEmail(path string) (id, to string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return "", "", err
	}
	id = strings.Trim(strings.TrimSpace(msg.Header.Get("Message-Id")), "<>")
	if id == "" {
		return "", "", errors.New("no Message-ID header")
	}
	addrs, err := msg.Header.AddressList("To")
	if err != nil {
		return "", "", fmt.Errorf("the recipient (To header): %w", err)
	}
	if len(addrs) == 0 {
		return "", "", errors.New("no recipient (To header)")
	}
	if _, err := (&mime.WordDecoder{}).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return "", "", fmt.Errorf("the subject is not decodable: %w", err)
	}
	return id, addrs[0].Address, nil
}

// templateOf reads the template from a Message-ID made by handlers.MessageID: HASH.TEMPLATE@DOMAIN.
func templateOf(messageID string) string {
	local, _, _ := strings.Cut(messageID, "@")
	_, t, ok := strings.Cut(local, ".")
	if !ok {
		return "?"
	}
	return t
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

func (r *rig) collectCache(ctx context.Context, rep *report) error {
	s := r.script
	keys, err := r.scan(ctx, r.cache.PatternPrefix("tenant"))
	if err != nil {
		return err
	}
	prefix := r.cache.Key("tenant") + ":"
	exists := map[string]bool{}
	for _, k := range keys {
		exists[k] = true
		parts := strings.Split(strings.TrimPrefix(k, prefix), ":")
		switch {
		case len(parts) == 3 && parts[1] == "product":
			v, err := r.rdb.Get(ctx, k).Bytes()
			if err != nil {
				return fmt.Errorf("read %s: %w", k, err)
			}
			var doc struct {
				Version json.Number `json:"version"`
			}
			version := "1 (none in the data)"
			if json.Unmarshal(v, &doc) == nil && doc.Version != "" {
				version = doc.Version.String()
			}
			rep.Products = append(rep.Products, keyValue{k, version})
		case len(parts) == 3 && parts[1] == "products" && parts[2] == "gen":
			v, err := r.rdb.Get(ctx, k).Result()
			if err != nil {
				return fmt.Errorf("read %s: %w", k, err)
			}
			rep.Generations = append(rep.Generations, keyValue{k, v})
		}
	}
	if len(rep.Products) == 0 {
		rep.problem("the cache consumer wrote no product entry")
	}
	for _, k := range s.seededUsers {
		if exists[k] {
			rep.UsersKept = append(rep.UsersKept, k)
			rep.problem("user entry %s is still cached after user.updated", k)
		} else {
			rep.UsersGone = append(rep.UsersGone, k)
		}
	}

	p := &rep.Purge
	p.Tenant = s.tenants[1]
	genKey := r.cache.Key("tenant", p.Tenant, "products", "gen")
	for _, k := range s.purgeBefore {
		switch {
		case k == genKey:
		case exists[k]:
			p.Left = append(p.Left, k)
			rep.problem("key %s of suspended tenant %s survived the purge", k, p.Tenant)
		default:
			p.Removed = append(p.Removed, k)
		}
	}
	if len(p.Removed) == 0 {
		rep.problem("the suspension of %s purged none of its keys", p.Tenant)
	}
	p.GenBefore = s.genBefore
	if p.GenAfter, err = r.generation(ctx, p.Tenant); err != nil {
		return err
	}
	if p.GenAfter <= p.GenBefore {
		rep.problem("the product generation of %s did not grow with its purge (%d, then %d)", p.Tenant, p.GenBefore, p.GenAfter)
	}
	p.KeysPurgedMetric = rep.Metrics.Purged
	if p.KeysPurgedMetric < float64(len(p.Removed)) {
		rep.problem("eventworker_cache_keys_purged_total is %v, below the %d keys removed", p.KeysPurgedMetric, len(p.Removed))
	}
	p.OtherList = s.lists[s.tenants[0]]
	if !exists[p.OtherList] {
		rep.problem("%s of the active tenant %s was removed by another tenant's purge", p.OtherList, s.tenants[0])
	}
	return nil
}

func (r *rig) scan(ctx context.Context, pattern string) ([]string, error) {
	var keys []string
	iter := r.rdb.Scan(ctx, 0, pattern, 200).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", pattern, err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (r *rig) collectDerived(rep *report) {
	s := r.script
	byID := map[string]sentEvent{}
	for _, e := range s.sent {
		byID[e.ID] = e
	}
	fell := false
	for _, ev := range r.derived.published() {
		d := derived{ID: ev.ID, Tenant: ev.TenantID, CausationID: ev.CausationID, CorrelationID: ev.CorrelationID}
		if p, ok := ev.Payload.(*registry.ProductInventoryLow); ok {
			d.ProductID, d.Quantity, d.Threshold = p.ProductID, p.InventoryQuantity, p.LowStockThreshold
		}
		src, ok := byID[ev.CausationID]
		if ok {
			d.CausationType, d.CausationStep, d.CausationSource = src.Type, src.Step, src.Source
		} else {
			rep.problem("derived %s %s names causation %q, which the demo did not publish", ev.Type, ev.ID, ev.CausationID)
		}
		if ev.CausationID == s.fallID {
			fell = true
		}
		rep.Derived = append(rep.Derived, d)
	}
	sort.Slice(rep.Derived, func(i, j int) bool {
		a, b := rep.Derived[i], rep.Derived[j]
		return cmpStrings([]string{a.Tenant, a.ProductID, a.ID}, []string{b.Tenant, b.ProductID, b.ID}) < 0
	})
	if !fell {
		rep.problem("no product.inventory_low was derived from the generated stock fall (product.updated %s)", s.fallID)
	}
}

func (r *rig) collectTenants(ctx context.Context, rep *report) error {
	s := r.script
	for i, t := range s.tenants {
		p, ok, err := r.tenants.Get(ctx, t)
		if err != nil {
			return err
		}
		if !ok {
			rep.problem("no profile stored for tenant %s", t)
		}
		if wantSuspended := i == 1; p.Suspended != wantSuspended {
			rep.problem("tenant %s: suspended is %v, want %v", t, p.Suspended, wantSuspended)
		}
		p.TenantID = t
		rep.Tenants = append(rep.Tenants, p)
	}
	return nil
}

// counterNames are the analytics counters in the order the stats table shows them.
var counterNames = []string{analytics.OrdersCreated, analytics.OrdersConfirmed, analytics.OrdersCancelled, analytics.UsersRegistered}

func (r *rig) collectAnalytics(ctx context.Context, rep *report) error {
	s := r.script
	expected := map[string]map[string]int64{}
	first := time.Now()
	for _, e := range s.sent {
		if e.Event == nil || e.Redelivery {
			continue
		}
		first = minTime(first, e.Event.OccurredAt)
		m := expected[e.Tenant]
		if m == nil {
			m = map[string]int64{}
			expected[e.Tenant] = m
		}
		switch p := e.Event.Payload.(type) {
		case *registry.OrderCreated:
			m[analytics.OrdersCreated]++
		case *registry.OrderConfirmed:
			m[analytics.OrdersConfirmed]++
			minor, err := p.Amount.Minor(p.Currency)
			if err != nil {
				return fmt.Errorf("expected revenue of %s: %w", e.ID, err)
			}
			m[analytics.RevenuePrefix+p.Currency] += minor
		case *registry.OrderCancelled:
			m[analytics.OrdersCancelled]++
		case *registry.UserRegistered:
			m[analytics.UsersRegistered]++
		}
	}
	now := time.Now().UTC()
	days := int(now.Truncate(24*time.Hour).Sub(first.UTC().Truncate(24*time.Hour))/(24*time.Hour)) + 1
	for _, t := range s.tenants {
		all, err := r.stats.Days(ctx, t, now, days)
		if err != nil {
			return err
		}
		tc := tenantCounts{Tenant: t, Got: map[string]int64{}, Expected: expected[t]}
		for _, d := range all {
			if len(d.Counters) > 0 {
				tc.Days = append(tc.Days, d)
			}
			for k, v := range d.Counters {
				tc.Got[k] += v
			}
		}
		for _, k := range unionKeys(tc.Got, tc.Expected) {
			if tc.Got[k] != tc.Expected[k] {
				rep.problem("analytics of %s: %s is %d, want %d (what was published)", t, k, tc.Got[k], tc.Expected[k])
			}
		}
		rep.Analytics = append(rep.Analytics, tc)
	}
	return nil
}

func (r *rig) collectDeadLetters(rep *report) {
	s := r.script
	seen := map[string]bool{}
	for _, d := range r.transport.DeadLetters() {
		rep.DeadLetters = append(rep.DeadLetters, deadLetter{
			Consumer: d.Consumer, EventType: d.RoutingKey, EventID: d.MessageID, Class: d.Class, Reason: d.Reason, Attempts: d.Attempts,
		})
		if d.MessageID != s.invalidID {
			rep.problem("unexpected dead letter of %s in %s: %s", d.RoutingKey, d.Consumer, d.Reason)
			continue
		}
		if d.Class != "permanent" || !strings.Contains(d.Reason, "customer_email") {
			rep.problem("the invalid event's dead letter in %s has class %q and reason %q; want permanent, naming customer_email", d.Consumer, d.Class, d.Reason)
		}
		seen[d.Consumer] = true
	}
	for _, c := range r.reg.ConsumersOf("order.created") {
		if !seen[c] {
			rep.problem("no dead letter in %s for the invalid event %s", c, s.invalidID)
		}
	}
	sort.Slice(rep.DeadLetters, func(i, j int) bool {
		a, b := rep.DeadLetters[i], rep.DeadLetters[j]
		return cmpStrings([]string{a.Consumer, a.EventType, a.EventID}, []string{b.Consumer, b.EventType, b.EventID}) < 0
	})
}

func (r *rig) checkMetrics(rep *report) {
	m := rep.Metrics
	for _, c := range r.reg.ConsumersOf("order.created") {
		if m.Outcomes[c][metrics.OutcomeInvalid] != 1 {
			rep.problem("%s counted %v invalid deliveries, want 1", c, m.Outcomes[c][metrics.OutcomeInvalid])
		}
		if m.Outcomes[c][metrics.OutcomeDuplicate] < 1 {
			rep.problem("%s counted no duplicate for the redelivered order.created", c)
		}
	}
	var sent float64
	for _, kv := range m.Sent {
		n, _ := strconv.ParseFloat(kv.Value, 64)
		sent += n
	}
	if int(sent) != len(rep.Emails) {
		rep.problem("eventworker_emails_sent_total is %v, but the outbox holds %d emails", sent, len(rep.Emails))
	}
	if len(m.Received) == 0 {
		rep.problem("eventworker_events_received_total is empty")
	}
}

// summarize reads the summary from gathered metric families.
func summarize(fams []*dto.MetricFamily) metricsSummary {
	s := metricsSummary{Outcomes: map[string]map[string]float64{}}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue()
			switch f.GetName() {
			case "eventworker_events_received_total":
				s.Received = append(s.Received, keyValue{label(m, "event_type") + " v" + label(m, "version") + " (" + label(m, "consumer") + ")", num(v)})
			case "eventworker_handler_outcomes_total":
				c := label(m, "consumer")
				if s.Outcomes[c] == nil {
					s.Outcomes[c] = map[string]float64{}
					s.Consumers = append(s.Consumers, c)
				}
				s.Outcomes[c][label(m, "outcome")] = v
			case "eventworker_dead_letters_total":
				if v > 0 {
					s.Dead = append(s.Dead, keyValue{label(m, "consumer") + "/" + label(m, "class"), num(v)})
				}
			case "eventworker_emails_sent_total":
				s.Sent = append(s.Sent, keyValue{label(m, "template"), num(v)})
			case "eventworker_emails_suppressed_total":
				if v > 0 {
					s.Suppressed = append(s.Suppressed, keyValue{label(m, "template"), num(v)})
				}
			case "eventworker_cache_keys_purged_total":
				s.Purged = v
			case "eventworker_handler_duration_seconds":
				h := m.GetHistogram()
				if n := h.GetSampleCount(); n > 0 {
					mean := time.Duration(h.GetSampleSum() / float64(n) * float64(time.Second))
					s.Handled = append(s.Handled, keyValue{label(m, "consumer"), fmt.Sprintf("%d handler calls, %s mean", n, mean.Round(time.Microsecond))})
				}
			}
		}
	}
	for _, l := range [][]keyValue{s.Received, s.Dead, s.Sent, s.Suppressed, s.Handled} {
		sort.Slice(l, func(i, j int) bool { return l[i].Key < l[j].Key })
	}
	sort.Strings(s.Consumers)
	return s
}

// write prints the report.
func (rep *report) write(w io.Writer) {
	fmt.Fprintln(w, "eventworker demo: the worker's whole pipeline in this process, no outside service")
	tw := table(w)
	fmt.Fprintf(tw, "  transport\tWatermill GoChannel in this process; work, retry and dead-letter queues in memory\n")
	fmt.Fprintf(tw, "  redis\tembedded miniredis at %s, through the worker's own go-redis code\n", rep.RedisAddr)
	fmt.Fprintf(tw, "  emails\tfile://%s\n", rep.Outbox)
	if rep.LogFile != "" {
		fmt.Fprintf(tw, "  logs\t%s (JSON lines; --verbose sends them to stderr)\n", rep.LogFile)
	} else {
		fmt.Fprintf(tw, "  logs\tto the logger given (stderr with --verbose)\n")
	}
	metricsLine := "http://" + rep.HTTPAddr + "/metrics"
	if rep.HTTPNote != "" {
		metricsLine += " (" + rep.HTTPNote + ")"
	}
	fmt.Fprintf(tw, "  metrics\t%s, also /healthz and /readyz\n", metricsLine)
	_ = tw.Flush()

	fmt.Fprintf(w, "\n== published: %d events, through the publisher package unless said otherwise ==\n", rep.Published)
	for i, st := range rep.Steps {
		for j, line := range st.Lines {
			if j == 0 {
				fmt.Fprintf(w, "  %d. %-10s %s\n", i+1, st.Name, line)
			} else {
				fmt.Fprintf(w, "     %-10s %s\n", "", line)
			}
		}
	}
	fmt.Fprintf(w, "  all handled in %s; after each step every consumer was idle (nothing queued, in flight or waiting to be retried)\n",
		rep.Elapsed.Round(time.Millisecond))

	fmt.Fprintf(w, "\n== notifications: %d emails written, %d suppressed ==\n", len(rep.Emails), len(rep.Suppressed))
	tw = table(w)
	fmt.Fprintf(tw, "  TEMPLATE\tTENANT\tEVENT\tTO (DOMAIN)\tFILE (in %s)\n", rep.Outbox)
	for _, e := range rep.Emails {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Template, dash(e.Tenant), e.EventType, e.To, filepath.Base(e.Path))
	}
	_ = tw.Flush()
	for _, e := range rep.Suppressed {
		fmt.Fprintf(w, "  suppressed: %s for %s %s (tenant %s is suspended); no file written\n", e.Template, e.EventType, e.EventID, e.Tenant)
	}

	fmt.Fprintf(w, "\n== cache: %d product entries, %d generations, %d user entries dropped, %d keys purged ==\n",
		len(rep.Products), len(rep.Generations), len(rep.UsersGone), len(rep.Purge.Removed))
	tw = table(w)
	for _, kv := range rep.Products {
		fmt.Fprintf(tw, "  refreshed\t%s\tversion %s\n", kv.Key, kv.Value)
	}
	for _, kv := range rep.Generations {
		fmt.Fprintf(tw, "  generation\t%s\t%s\n", kv.Key, kv.Value)
	}
	for _, k := range rep.UsersGone {
		fmt.Fprintf(tw, "  dropped\t%s\t(user.updated; the demo had cached it as the Python side would)\n", k)
	}
	for _, k := range rep.Purge.Removed {
		fmt.Fprintf(tw, "  purged\t%s\t(tenant.suspended of %s)\n", k, rep.Purge.Tenant)
	}
	_ = tw.Flush()
	p := rep.Purge
	fmt.Fprintf(w, "  %s's generation went from %d to %d with its purge; eventworker_cache_keys_purged_total %v; %s of the active shop kept\n",
		p.Tenant, p.GenBefore, p.GenAfter, p.KeysPurgedMetric, p.OtherList)

	fmt.Fprintf(w, "\n== inventory: %d product.inventory_low derived (published with the publisher package) ==\n", len(rep.Derived))
	tw = table(w)
	fmt.Fprintln(tw, "  TENANT\tPRODUCT\tSTOCK/THRESHOLD\tEVENT_ID\tCAUSATION_ID\tCAUSED BY")
	for _, d := range rep.Derived {
		fmt.Fprintf(tw, "  %s\t%s\t%d/%d\t%s\t%s\t%s (%s, %s)\n", d.Tenant, d.ProductID, d.Quantity, d.Threshold, d.ID, d.CausationID,
			dash(d.CausationType), dash(d.CausationStep), dash(d.CausationSource))
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\n== tenants: %d profiles ==\n", len(rep.Tenants))
	tw = table(w)
	fmt.Fprintln(tw, "  TENANT\tNAME\tOWNER\tLOCALE\tPLAN\tSUSPENDED")
	for _, t := range rep.Tenants {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.TenantID, t.Name, t.OwnerEmail, dash(t.Locale), dash(t.Plan), yesNo(t.Suspended))
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\n== analytics: the counters as `eventworker stats` prints them ==")
	for i, tc := range rep.Analytics {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeStats(w, tc)
	}

	fmt.Fprintf(w, "\n== dead letters: %d ==\n", len(rep.DeadLetters))
	tw = table(w)
	fmt.Fprintln(tw, "  CONSUMER\tEVENT_TYPE\tEVENT_ID\tCLASS\tATTEMPTS\tREASON")
	for _, d := range rep.DeadLetters {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", d.Consumer, d.EventType, d.EventID, dash(d.Class), d.Attempts, d.Reason)
	}
	_ = tw.Flush()

	writeMetrics(w, rep.Metrics)

	if len(rep.Problems) == 0 {
		fmt.Fprintln(w, "\ndemo OK: every expectation held (emails, derived event, dead letter, suppression, purge, counters, metrics)")
		return
	}
	fmt.Fprintf(w, "\ndemo FAILED: %d expectation(s) did not hold:\n", len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}

// writeStats prints a tenant's counters like `eventworker stats`, for the days with events.
func writeStats(w io.Writer, tc tenantCounts) {
	fmt.Fprintf(w, "tenant %s, %d UTC day(s) with events\n", tc.Tenant, len(tc.Days))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DATE\tCREATED\tCONFIRMED\tCANCELLED\tREGISTERED\tREVENUE\t")
	row := func(label string, c map[string]int64, rev map[string]int64) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t\n", label, c[counterNames[0]], c[counterNames[1]], c[counterNames[2]], c[counterNames[3]], analytics.FormatRevenue(rev))
	}
	for _, d := range tc.Days {
		row(d.Date.Format(time.DateOnly), d.Counters, d.Revenue())
	}
	row("total", tc.Got, analytics.Day{Counters: tc.Got}.Revenue())
	_ = tw.Flush()
}

func writeMetrics(w io.Writer, m metricsSummary) {
	fmt.Fprintln(w, "\n== metrics: gathered from the Prometheus registry that /metrics serves ==")
	fmt.Fprintln(w, "  eventworker_events_received_total (valid events, per consumer that received them):")
	writeKeyValues(w, m.Received)
	fmt.Fprintln(w, "  eventworker_handler_outcomes_total:")
	outcomes := metrics.AllOutcomes()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "    CONSUMER\t%s\t\n", strings.ToUpper(strings.Join(outcomes, "\t")))
	for _, c := range m.Consumers {
		fmt.Fprintf(tw, "    %s\t", c)
		for _, o := range outcomes {
			fmt.Fprintf(tw, "%v\t", m.Outcomes[c][o])
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "  eventworker_dead_letters_total (consumer/class):")
	writeKeyValues(w, m.Dead)
	fmt.Fprintln(w, "  eventworker_emails_sent_total (template):")
	writeKeyValues(w, m.Sent)
	fmt.Fprintln(w, "  eventworker_emails_suppressed_total (template):")
	writeKeyValues(w, m.Suppressed)
	fmt.Fprintln(w, "  eventworker_handler_duration_seconds (consumer):")
	writeKeyValues(w, m.Handled)
	fmt.Fprintf(w, "  eventworker_cache_keys_purged_total: %v\n", m.Purged)
}

func writeKeyValues(w io.Writer, kvs []keyValue) {
	if len(kvs) == 0 {
		fmt.Fprintln(w, "    (none)")
		return
	}
	tw := table(w)
	for _, kv := range kvs {
		fmt.Fprintf(tw, "    %s\t%s\n", kv.Key, kv.Value)
	}
	_ = tw.Flush()
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func unionKeys(a, b map[string]int64) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cmpStrings(a, b []string) int { return slices.Compare(a, b) }
