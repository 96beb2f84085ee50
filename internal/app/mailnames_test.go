package app

import (
	"slices"
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
