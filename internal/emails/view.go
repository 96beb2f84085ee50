package emails

import "time"

// View is the data of one email. The renderer sets L and Subject.
type View struct {
	// L translates and formats for the email's locale.
	L *Locale
	// Subject is the rendered subject, for the HTML title.
	Subject string
	// Shop is the tenant whose customer (or owner) receives the email.
	Shop Shop
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
	Quantity  int64
	// UnitPrice is nil when the event does not give it.
	UnitPrice *Money
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
