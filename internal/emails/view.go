package emails

import (
	"math"
	"time"
)

// View is the data of one email. The renderer sets L and Subject.
type View struct {
	// L translates and formats for the email's locale.
	L *Locale
	// Subject is the rendered subject, for the HTML title.
	Subject string
	// Preheader is the rendered preview line inboxes show after the subject (the message
	// NAME.preheader); hidden in the HTML part.
	Preheader string
	// Shop is the tenant whose customer (or owner) receives the email.
	Shop Shop
	// Platform is who runs the shops: it writes to their owners.
	Platform Platform
	// Name is the recipient's name; empty when unknown.
	Name    string
	Order   *Order
	Product *Product
	Tenant  *Tenant
}

// Shop brands an email.
type Shop struct {
	Name         string
	SupportEmail string
	// LogoURL and URL (https) show the shop's logo and link its name; LegalNotice (plain text,
	// line breaks kept) closes the footer. Each is empty when the shop has none.
	LogoURL, URL, LegalNotice string
}

// Platform signs the emails to shop owners.
type Platform struct {
	Name         string
	SupportEmail string
}

// Order is an order as the order emails show it.
type Order struct {
	ID         string
	Total      Money
	Items      []Item
	PaymentURL string
	ExpiresAt  *time.Time
	Reason     string
}

// Item is one line of an order.
type Item struct {
	ProductID string
	Name      string
	// SKU, when known, is shown beside the name.
	SKU      string
	Quantity int64
	// UnitPrice is nil when the event does not give it.
	UnitPrice *Money
}

// LineTotal is the line's price, the unit price times the quantity; nil without a unit price or
// when the product does not fit in minor units.
func (it Item) LineTotal() *Money {
	if it.UnitPrice == nil || it.UnitPrice.Literal != "" {
		return nil
	}
	total, ok := mulInt64(it.UnitPrice.Minor, it.Quantity)
	if !ok {
		return nil
	}
	return &Money{Minor: total, Currency: it.UnitPrice.Currency}
}

// mulInt64 is a*b, and false when it overflows.
func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return p, true
}

// Money is an amount in integer minor units of an ISO 4217 currency.
type Money struct {
	Minor    int64
	Currency string
	// Literal, when set, is shown as given: for an amount with more decimals than the
	// currency has, which minor units cannot hold exactly.
	Literal string
}

// Product is the product of a low-stock alert.
type Product struct {
	ID        string
	SKU       string
	Name      string
	Quantity  int64
	Threshold int64
}

// Tenant is the new shop of a tenant welcome email.
type Tenant struct {
	Plan       string
	OwnerEmail string
}
