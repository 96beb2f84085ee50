package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/registry"
)

const previewSummary = "Render the emails an event would send, without sending them"

// previewSource is one event to preview and where it came from.
type previewSource struct {
	label string
	body  []byte
}

func runPreview(_ context.Context, e *env, path string, args []string) int {
	file := &registryFile{}
	if v := e.getenv(registryFileEnv); v != "" {
		file.path, file.origin = v, registryFileEnv
	}
	f := newFlags(path, "Usage: "+path+" [flags] [EVENT.json | TYPE]\n\n"+
		"Renders the email each event would send, as the notifications consumer does, without\n"+
		"sending it or reading Redis. Without an argument it previews every registry example of\n"+
		"every event type that sends email; with TYPE (e.g. order.created) that type's examples;\n"+
		"with a file, the event in it (one JSON event, validated against the registry).\n\n"+
		"The shop is the registry's tenant.provisioned example. Templates come from\n"+
		"--template-dir (default $EVENTWORKER_TEMPLATE_DIR) over the embedded ones. Without --out\n"+
		"the headers and the text part are printed; with --out DIR, each email is written as\n"+
		"NAME.eml, NAME.txt and NAME.html.")
	file.register(f)
	locale := f.String("locale", "", "render in this `LOCALE` (e.g. de) instead of choosing as the worker does")
	out := f.String("out", "", "write .eml, .txt and .html files into `DIR`")
	dir := f.String("template-dir", e.getenv("EVENTWORKER_TEMPLATE_DIR"), "template override `DIR`")
	tenant := f.String("tenant", "", "render with the template overrides of this `TENANT` (a subdirectory of the template dir)")
	rest, status, ok := f.parse(e, args)
	if !ok {
		return status
	}
	if len(rest) > 1 {
		return e.usageError(path, "takes at most one event file or type, got %d arguments", len(rest))
	}
	reg, err := file.load()
	if err != nil {
		return e.fail(path, err)
	}
	arg := ""
	if len(rest) == 1 {
		arg = rest[0]
	}
	sources, err := previewSources(reg, arg)
	if err != nil {
		return e.fail(path, err)
	}
	renderer, err := emails.New(emails.Config{Dir: *dir})
	if err != nil {
		return e.fail(path, err)
	}
	fromRaw := e.getenv("EVENTWORKER_MAIL_FROM")
	if fromRaw == "" {
		fromRaw = config.Default().MailFrom
	}
	from, err := app.MailFrom(fromRaw)
	if err != nil {
		return e.fail(path, err)
	}
	profile, err := exampleProfile(reg)
	if err != nil {
		return e.fail(path, err)
	}
	deps := handlers.Deps{MailFrom: from, PlatformName: e.getenv("EVENTWORKER_PLATFORM_NAME"),
		PlatformSupport: e.getenv("EVENTWORKER_PLATFORM_SUPPORT_EMAIL"), Emails: renderer}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return e.fail(path, fmt.Errorf("--out: %w", err))
		}
	}
	for _, src := range sources {
		ev, err := reg.Validate(eventType(src.body), src.body)
		if err != nil {
			return e.fail(path, fmt.Errorf("%s: %w", src.label, err))
		}
		if *tenant != "" {
			ev.TenantID = *tenant
		}
		m, err := handlers.PreviewEmail(deps, ev, profile, *locale)
		if err != nil {
			return e.fail(path, fmt.Errorf("%s: %w", src.label, err))
		}
		if *out == "" {
			printPreview(e.stdout, src.label, m)
			continue
		}
		name := fileName(src.label + "." + m.Template)
		if err := writePreview(filepath.Join(*out, name), m); err != nil {
			return e.fail(path, err)
		}
		fmt.Fprintf(e.stdout, "%s: %s.eml, %s.txt, %s.html\n", src.label, name, name, name)
	}
	return exitOK
}

// previewSources resolves the argument: nothing, an event type or a file.
func previewSources(reg *registry.Registry, arg string) ([]previewSource, error) {
	mailing := reg.EventsOf(handlers.ConsumerNotifications)
	if arg != "" && !slices.Contains(reg.Types(), arg) {
		body, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an event type that sends email (%s) nor a readable file: %w", arg, strings.Join(mailing, ", "), err)
		}
		return []previewSource{{label: filepath.Base(arg), body: body}}, nil
	}
	types := mailing
	if arg != "" {
		if !slices.Contains(mailing, arg) {
			return nil, fmt.Errorf("%s sends no email; the types that do: %s", arg, strings.Join(mailing, ", "))
		}
		types = []string{arg}
	}
	var out []previewSource
	for _, typ := range types {
		t, err := reg.Type(typ)
		if err != nil {
			return nil, err
		}
		for _, v := range t.Versions {
			for _, ex := range v.Examples {
				out = append(out, previewSource{label: fmt.Sprintf("%s.v%d.%s", typ, v.Version, ex.Name), body: ex.Event})
			}
		}
	}
	return out, nil
}

// exampleProfile is the shop of the registry's tenant.provisioned example.
func exampleProfile(reg *registry.Registry) (tenants.Profile, error) {
	t, err := reg.Type("tenant.provisioned")
	if err != nil || len(t.Latest().Examples) == 0 {
		return tenants.Profile{}, errors.New("the registry has no tenant.provisioned example to take the shop from")
	}
	ev, err := reg.Validate(t.Name, t.Latest().Examples[0].Event)
	if err != nil {
		return tenants.Profile{}, err
	}
	p := ev.Payload.(*registry.TenantProvisioned)
	return tenants.Profile{TenantID: p.TenantID, Name: p.Name, OwnerEmail: p.OwnerEmail,
		SupportEmail: p.SupportEmail, Locale: p.Locale, Plan: p.Plan, Timezone: p.Timezone}, nil
}

// eventType reads the routing key a producer would use: the body's event_type.
func eventType(body []byte) string {
	var env struct {
		Type string `json:"event_type"`
	}
	_ = json.Unmarshal(body, &env) // an unreadable body fails validation with its reason
	return env.Type
}

func printPreview(w io.Writer, label string, m *mailer.Message) {
	fmt.Fprintf(w, "=== %s: %s ===\n", label, m.Template)
	fmt.Fprintf(w, "From: %s\n", formatAddr(m.From))
	for _, to := range m.To {
		fmt.Fprintf(w, "To: %s\n", formatAddr(to))
	}
	if m.ReplyTo != nil {
		fmt.Fprintf(w, "Reply-To: %s\n", formatAddr(*m.ReplyTo))
	}
	fmt.Fprintf(w, "Subject: %s\nMessage-ID: <%s>\n\n%s\n(HTML part: %d bytes; --out DIR writes it)\n\n", m.Subject, m.MessageID, m.Text, len(m.HTML))
}

func formatAddr(a mailer.Address) string {
	if a.Name == "" {
		return a.Email
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Email)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string { return unsafeFileChars.ReplaceAllString(s, "_") }

func writePreview(base string, m *mailer.Message) error {
	eml, err := mailer.Encode(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", base, err)
	}
	for ext, data := range map[string][]byte{".eml": eml, ".txt": []byte(m.Text), ".html": []byte(m.HTML)} {
		if err := os.WriteFile(base+ext, data, 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}
