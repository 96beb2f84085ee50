package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/emails"
)

// TestMailDisableKnowsEveryEmail keeps the template names EVENTWORKER_MAIL_DISABLE accepts equal
// to the emails the worker sends.
func TestMailDisableKnowsEveryEmail(t *testing.T) {
	if !slices.Equal(config.MailTemplateNames, emails.Names) {
		t.Errorf("config.MailTemplateNames = %v, want emails.Names %v", config.MailTemplateNames, emails.Names)
	}
}

// TestMailHeadersAreCheckedAtStart: a header field no email could carry stops the start (Check)
// instead of dead-lettering every email.
func TestMailHeadersAreCheckedAtStart(t *testing.T) {
	for raw, ok := range map[string]bool{
		"Feedback-ID={template}:{tenant}:shop;X-PM-Tag=transactional": true,
		"Reply-To=support@shop.example":                               false,
		"Content-Language=en":                                         false,
		"X-Tag=Grüße":                                                 false,
		"X-Tag={tenant_id}":                                           false,
		"X-Tag=a;x-tag=b":                                             false,
	} {
		cfg := config.Default()
		cfg.MailHeaders = raw
		_, err := mailHeaders(cfg)
		if (err == nil) != ok {
			t.Errorf("EVENTWORKER_MAIL_HEADERS=%q: %v, want accepted %v", raw, err, ok)
		}
		if cerr := Check(cfg); !ok && (cerr == nil || !strings.Contains(cerr.Error(), "EVENTWORKER_MAIL_HEADERS")) {
			t.Errorf("Check with EVENTWORKER_MAIL_HEADERS=%q = %v, want it named", raw, cerr)
		}
	}
}
