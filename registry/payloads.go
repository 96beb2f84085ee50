package registry

// The internal shapes of event data, one per event type. Each has the JSON form of the type's
// latest version, so a producer that marshals one sends the latest version; older versions are
// upcast into the same shape by the decoders below.

// Payload is the typed data of an event.
type Payload interface {
	// EventType is the routing key of the events that carry this payload.
	EventType() string
}

// OrderCreated is order.created (version 2 shape: money in integer minor units).
type OrderCreated struct {
	OrderID       string             `json:"order_id"`
	CustomerID    string             `json:"customer_id"`
	CustomerEmail string             `json:"customer_email"`
	CustomerName  string             `json:"customer_name,omitempty"`
	AmountMinor   int64              `json:"amount_minor"`
	Currency      string             `json:"currency"`
	Items         []OrderCreatedItem `json:"items,omitempty"`
}

// OrderCreatedItem is one line of an order.created event.
type OrderCreatedItem struct {
	ProductID      string `json:"product_id"`
	Name           string `json:"name,omitempty"`
	Quantity       int64  `json:"quantity"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
}

// orderCreatedV1 is order.created version 1 as it travels: money in major units.
type orderCreatedV1 struct {
	OrderID       string  `json:"order_id"`
	CustomerID    string  `json:"customer_id"`
	CustomerEmail string  `json:"customer_email"`
	CustomerName  string  `json:"customer_name,omitempty"`
	Amount        Decimal `json:"amount"`
	Currency      string  `json:"currency"`
	Items         []struct {
		ProductID string  `json:"product_id"`
		Name      string  `json:"name,omitempty"`
		Quantity  int64   `json:"quantity"`
		UnitPrice Decimal `json:"unit_price"`
	} `json:"items,omitempty"`
}

// upcast converts version 1 to the internal shape, major units to minor units.
func (v orderCreatedV1) upcast() (*OrderCreated, error) {
	amount, err := v.Amount.Minor(v.Currency)
	if err != nil {
		return nil, err
	}
	out := &OrderCreated{
		OrderID: v.OrderID, CustomerID: v.CustomerID, CustomerEmail: v.CustomerEmail,
		CustomerName: v.CustomerName, AmountMinor: amount, Currency: v.Currency,
	}
	for _, it := range v.Items {
		price, err := it.UnitPrice.Minor(v.Currency)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, OrderCreatedItem{
			ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, UnitPriceMinor: price,
		})
	}
	return out, nil
}

// OrderPendingPayment is order.pending_payment: the order awaits payment.
type OrderPendingPayment struct {
	OrderID       string     `json:"order_id"`
	CustomerID    string     `json:"customer_id"`
	CustomerEmail string     `json:"customer_email"`
	Amount        Decimal    `json:"amount"`
	Currency      string     `json:"currency"`
	PaymentURL    string     `json:"payment_url,omitempty"`
	ExpiresAt     *Timestamp `json:"expires_at,omitempty"`
}

// OrderConfirmed is order.confirmed.
type OrderConfirmed struct {
	OrderID       string               `json:"order_id"`
	CustomerID    string               `json:"customer_id"`
	CustomerEmail string               `json:"customer_email"`
	CustomerName  string               `json:"customer_name,omitempty"`
	Amount        Decimal              `json:"amount"`
	Currency      string               `json:"currency"`
	Items         []OrderConfirmedItem `json:"items,omitempty"`
}

// OrderConfirmedItem is one line of an order.confirmed event; InventoryRemaining, when present,
// is the product's stock after the order.
type OrderConfirmedItem struct {
	ProductID          string `json:"product_id"`
	Quantity           int64  `json:"quantity"`
	InventoryRemaining *int64 `json:"inventory_remaining,omitempty"`
}

// OrderCancelled is order.cancelled.
type OrderCancelled struct {
	OrderID       string `json:"order_id"`
	CustomerID    string `json:"customer_id"`
	CustomerEmail string `json:"customer_email"`
	Reason        string `json:"reason,omitempty"`
}

// Product is the data shared by product.created and product.updated.
type Product struct {
	ProductID         string  `json:"product_id"`
	SKU               string  `json:"sku"`
	Name              string  `json:"name"`
	Price             Decimal `json:"price"`
	Currency          string  `json:"currency"`
	InventoryQuantity int64   `json:"inventory_quantity"`
	// LowStockThreshold is nil when the producer sent none (the contract's default is 5).
	LowStockThreshold *int64 `json:"low_stock_threshold,omitempty"`
	// Version grows with every change of the product; decoding sets 1 when it is absent.
	Version int64 `json:"version"`
}

// DefaultLowStockThreshold applies when a product event carries no low_stock_threshold.
const DefaultLowStockThreshold = 5

// Threshold returns the low-stock threshold, the contract's default when none was sent.
func (p Product) Threshold() int64 {
	if p.LowStockThreshold == nil {
		return DefaultLowStockThreshold
	}
	return *p.LowStockThreshold
}

// ProductCreated is product.created.
type ProductCreated struct{ Product }

// ProductUpdated is product.updated.
type ProductUpdated struct{ Product }

// ProductInventoryLow is product.inventory_low, derived by the worker.
type ProductInventoryLow struct {
	ProductID         string `json:"product_id"`
	SKU               string `json:"sku"`
	Name              string `json:"name"`
	InventoryQuantity int64  `json:"inventory_quantity"`
	LowStockThreshold int64  `json:"low_stock_threshold"`
}

// UserRegistered is user.registered.
type UserRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name,omitempty"`
	Locale string `json:"locale,omitempty"`
}

// UserUpdated is user.updated.
type UserUpdated struct {
	UserID        string   `json:"user_id"`
	Email         string   `json:"email,omitempty"`
	Name          string   `json:"name,omitempty"`
	ChangedFields []string `json:"changed_fields,omitempty"`
}

// TenantProvisioned is tenant.provisioned.
type TenantProvisioned struct {
	TenantID     string `json:"tenant_id"`
	Name         string `json:"name"`
	OwnerEmail   string `json:"owner_email"`
	Plan         string `json:"plan,omitempty"`
	Locale       string `json:"locale,omitempty"`
	SupportEmail string `json:"support_email,omitempty"`
	// Timezone is an IANA zone for the dates in the tenant's emails. It is not in the
	// contract's table; the contract lets producers add fields, and the worker reads this one.
	Timezone string `json:"timezone,omitempty"`
	// LogoURL and WebsiteURL (https), and LegalNotice (the shop's legal details, such as a German
	// Impressum, as plain text) brand the shop's emails; like Timezone they are fields the
	// contract lets producers add.
	LogoURL     string `json:"logo_url,omitempty"`
	WebsiteURL  string `json:"website_url,omitempty"`
	LegalNotice string `json:"legal_notice,omitempty"`
}

// TenantSuspended is tenant.suspended.
type TenantSuspended struct {
	TenantID string `json:"tenant_id"`
	Reason   string `json:"reason,omitempty"`
}

// TenantReactivated is tenant.reactivated.
type TenantReactivated struct {
	TenantID string `json:"tenant_id"`
}

// EventType implements Payload.
func (OrderCreated) EventType() string { return "order.created" }

// EventType implements Payload.
func (OrderPendingPayment) EventType() string { return "order.pending_payment" }

// EventType implements Payload.
func (OrderConfirmed) EventType() string { return "order.confirmed" }

// EventType implements Payload.
func (OrderCancelled) EventType() string { return "order.cancelled" }

// EventType implements Payload.
func (ProductCreated) EventType() string { return "product.created" }

// EventType implements Payload.
func (ProductUpdated) EventType() string { return "product.updated" }

// EventType implements Payload.
func (ProductInventoryLow) EventType() string { return "product.inventory_low" }

// EventType implements Payload.
func (UserRegistered) EventType() string { return "user.registered" }

// EventType implements Payload.
func (UserUpdated) EventType() string { return "user.updated" }

// EventType implements Payload.
func (TenantProvisioned) EventType() string { return "tenant.provisioned" }

// EventType implements Payload.
func (TenantSuspended) EventType() string { return "tenant.suspended" }

// EventType implements Payload.
func (TenantReactivated) EventType() string { return "tenant.reactivated" }
