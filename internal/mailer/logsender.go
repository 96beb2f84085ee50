package mailer

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// logSender logs a summary of each email instead of sending it. The summary leaves out the body
// and the addresses (personal data); recipient domains are enough to see where mail would go.
type logSender struct {
	log *slog.Logger
}

func (l *logSender) deliver(ctx context.Context, m *Message, _ *mail.Msg) (time.Duration, error) {
	// ctx names the event that caused the email (see logging.WithEvent).
	l.log.LogAttrs(ctx, slog.LevelInfo, "mail: email logged, not sent (log:// back end)",
		slog.String("message_id", m.MessageID),
		slog.String("template", m.Template),
		slog.String("subject", cleanText(m.Subject)),
		slog.Int("recipients", len(m.To)),
		slog.Any("recipient_domains", recipientDomains(m.To)),
	)
	return 0, nil
}

func (l *logSender) close() error { return nil }

// recipientDomains lists the distinct domains of the (validated) recipients, sorted.
func recipientDomains(to []Address) []string {
	domains := make([]string, 0, len(to))
	for _, a := range to {
		if i := strings.LastIndexByte(a.Email, '@'); i >= 0 {
			domains = append(domains, strings.ToLower(a.Email[i+1:]))
		}
	}
	slices.Sort(domains)
	return slices.Compact(domains)
}
