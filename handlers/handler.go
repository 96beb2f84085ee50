package handlers

import (
	"fmt"

	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// storeError wraps an error of the Redis store an effect lives in: Unavailable when Redis could
// not be reached or cannot serve now (see redisclient.IsUnavailable), so an outage delays events and
// never spends their attempts; a plain transient error otherwise.
func storeError(ev *registry.Event, err error) error {
	err = fmt.Errorf("%s: %w", ev.Type, err)
	if redisclient.IsUnavailable(err) {
		return handling.Unavailable(err)
	}
	return err
}

// sameTenant refuses an event whose data names another tenant than its envelope: one tenant's
// event must not change another's state. The registry refuses such events already; handlers
// that act on data.tenant_id check again, so no path around validation can do it.
func sameTenant(ev *registry.Event, dataTenant string) error {
	if dataTenant != ev.TenantID {
		return handling.Permanent(fmt.Errorf("%s: data.tenant_id %q differs from the envelope's tenant_id %q", ev.Type, dataTenant, ev.TenantID))
	}
	return nil
}
