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

// Names lists every email, in the order of the contract.
var Names = []string{OrderReceived, PaymentReminder, OrderConfirmed, OrderCancelled, Welcome, TenantWelcome, LowStock}

// DefaultLanguage is used when neither the recipient nor the tenant has a supported locale.
const DefaultLanguage = "en"
