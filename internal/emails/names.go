package emails

// The emails the notifications consumer sends; each is a text and an HTML template and a
// "<name>.subject" message.
const (
	OrderReceived   = "order_received"
	PaymentReminder = "payment_reminder"
	OrderConfirmed  = "order_confirmed"
	OrderCancelled  = "order_cancelled"
	Welcome         = "welcome"
	TenantWelcome   = "tenant_welcome"
	LowStock        = "low_stock"
)

// ToOwner reports whether the email goes to a shop's owner, from the platform, rather than to
// a customer, from the shop: it has the platform's layout (templates/platform_layout.*.tmpl).
func ToOwner(name string) bool { return name == TenantWelcome || name == LowStock }

// Names lists every email, in the order of the contract.
var Names = []string{OrderReceived, PaymentReminder, OrderConfirmed, OrderCancelled, Welcome, TenantWelcome, LowStock}

// DefaultLanguage is used when neither the recipient nor the tenant has a supported locale.
const DefaultLanguage = "en"
