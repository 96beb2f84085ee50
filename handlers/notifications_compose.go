package handlers

import (
	"fmt"

	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/registry"
)

// outgoing is the email an event asks for, before the tenant's state is read.
type outgoing struct {
	template string
	to       mailer.Address
	// toOwner sends to the tenant owner's email from the profile instead of to.
	toOwner bool
	view    emails.View
	// locales are tried before the tenant's, in order.
	locales []string
	// customerID, when set, adds the locale the customer registered with in front.
	customerID string
	// rememberLocale is stored as userID's locale (user.registered).
	rememberLocale string
	userID         string
	// shopName and supportEmail brand the email when the event itself carries them
	// (tenant.provisioned), ahead of a profile that may not be stored yet.
	shopName     string
	supportEmail string
}

// compose maps a validated event to its email. Its error means the event cannot make one.
func compose(ev *registry.Event) (*outgoing, error) {
	switch p := ev.Payload.(type) {
	case *registry.OrderCreated:
		items := make([]emails.Item, 0, len(p.Items))
		for _, it := range p.Items {
			items = append(items, emails.Item{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity,
				UnitPrice: &emails.Money{Minor: it.UnitPriceMinor, Currency: p.Currency}})
		}
		return customer(emails.OrderReceived, p.CustomerID, p.CustomerEmail, p.CustomerName, &emails.Order{
			ID: p.OrderID, Total: emails.Money{Minor: p.AmountMinor, Currency: p.Currency}, Items: items,
		}), nil
	case *registry.OrderPendingPayment:
		o := &emails.Order{ID: p.OrderID, Total: money(p.Amount, p.Currency), PaymentURL: p.PaymentURL}
		if p.ExpiresAt != nil {
			t := p.ExpiresAt.Time
			o.ExpiresAt = &t
		}
		return customer(emails.PaymentReminder, p.CustomerID, p.CustomerEmail, "", o), nil
	case *registry.OrderConfirmed:
		items := make([]emails.Item, 0, len(p.Items))
		for _, it := range p.Items {
			items = append(items, emails.Item{ProductID: it.ProductID, Quantity: it.Quantity})
		}
		return customer(emails.OrderConfirmed, p.CustomerID, p.CustomerEmail, p.CustomerName, &emails.Order{
			ID: p.OrderID, Total: money(p.Amount, p.Currency), Items: items,
		}), nil
	case *registry.OrderCancelled:
		return customer(emails.OrderCancelled, p.CustomerID, p.CustomerEmail, "", &emails.Order{ID: p.OrderID, Reason: p.Reason}), nil
	case *registry.UserRegistered:
		return &outgoing{
			template: emails.Welcome, to: mailer.Address{Name: p.Name, Email: p.Email},
			view: emails.View{Name: p.Name}, locales: []string{p.Locale},
			rememberLocale: p.Locale, userID: p.UserID,
		}, nil
	case *registry.TenantProvisioned:
		return &outgoing{
			template: emails.TenantWelcome, to: mailer.Address{Email: p.OwnerEmail},
			view:    emails.View{Tenant: &emails.Tenant{Plan: p.Plan, OwnerEmail: p.OwnerEmail}},
			locales: []string{p.Locale}, shopName: p.Name, supportEmail: p.SupportEmail,
		}, nil
	case *registry.ProductInventoryLow:
		return &outgoing{
			template: emails.LowStock, toOwner: true,
			view: emails.View{Product: &emails.Product{ID: p.ProductID, SKU: p.SKU, Name: p.Name,
				Quantity: p.InventoryQuantity, Threshold: p.LowStockThreshold}},
		}, nil
	default:
		return nil, fmt.Errorf("%s v%d: the notifications consumer sends no email for it (payload %T)", ev.Type, ev.Version, ev.Payload)
	}
}

func customer(template, customerID, email, name string, o *emails.Order) *outgoing {
	return &outgoing{
		template: template, to: mailer.Address{Name: name, Email: email},
		view: emails.View{Name: name, Order: o}, customerID: customerID,
	}
}

// money converts a major-unit amount to minor units, rounding digits beyond the currency's
// (0.30000000000000004 USD is 30 cents; see registry.Decimal.Minor). An amount that cannot be
// converted (an unknown currency, more than 64 bits of minor units) is shown as sent.
func money(d registry.Decimal, currency string) emails.Money {
	minor, err := d.Minor(currency)
	if err != nil {
		return emails.Money{Literal: string(d), Currency: currency}
	}
	return emails.Money{Minor: minor, Currency: currency}
}
