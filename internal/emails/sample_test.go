package emails

import (
	"time"
)

// sampleView is a full view for each email, as the registry's examples give them.
func sampleView(name string) View {
	exp := time.Date(2026, 11, 28, 18, 30, 0, 0, time.UTC)
	shop := Shop{Name: "Acme Outdoor", SupportEmail: "help@acme.example", LogoURL: "https://acme.example/logo.png",
		URL: "https://acme.example/", LegalNotice: "Acme Outdoor GmbH, Musterstraße 1, 10115 Berlin\nAmtsgericht Charlottenburg HRB 12345, USt-IdNr. DE123456789"}
	order := &Order{
		ID:    "ord-1001",
		Total: Money{Minor: 123450, Currency: "EUR"},
		Items: []Item{
			{ProductID: "p-1", Name: "Trail Tent", Quantity: 1, UnitPrice: &Money{Minor: 119900, Currency: "EUR"}},
			{ProductID: "p-2", Quantity: 2, UnitPrice: &Money{Minor: 1775, Currency: "EUR"}},
		},
		PaymentURL: "https://pay.acme.example/ord-1001",
		ExpiresAt:  &exp,
		Reason:     "payment not received",
	}
	v := View{Shop: shop, Platform: Platform{Name: "Shopfront", SupportEmail: "support@shopfront.example"}, Name: "Jana Novák"}
	switch name {
	case OrderReceived, PaymentReminder, OrderConfirmed, OrderCancelled:
		v.Order = order
	case LowStock:
		v.Name = ""
		v.Product = &Product{ID: "p-1", SKU: "TENT-2P", Name: "Trail Tent", Quantity: 3, Threshold: 5}
	case TenantWelcome:
		v.Tenant = &Tenant{Plan: "growth", OwnerEmail: "owner@acme.example"}
	}
	return v
}
