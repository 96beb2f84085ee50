// Package emails renders the notifications consumer's emails: two layouts (the shop's, for
// customers, and the platform's, for shop owners: see ToOwner), a text and an HTML template per
// email, and message catalogs per language, all embedded and each overridable from a
// directory, globally or per tenant:
//
//	DIR/templates/layout.html.tmpl replaces the embedded customer layout for every tenant
//	DIR/templates/platform_layout.html.tmpl   the same for the owners' layout
//	DIR/templates/head.html.tmpl   the <head> both HTML layouts share (meta tags, dark styles)
//	DIR/locales/de.yaml            adds to or replaces German messages (a new file adds a language)
//	DIR/TENANT/templates/order_received.txt.tmpl   replaces one template for one tenant
//	DIR/TENANT/locales/en.yaml     changes messages for one tenant
//
// Templates reach the messages and the locale's formatting through the view's L field:
// {{.L.T "key" .}}, {{.L.Money .Order.Total}}, {{.L.Date .Order.ExpiresAt}}. The HTML part
// goes through html/template, so event data is escaped there; the text part through
// text/template. Money is formatted from integer minor units, never through a float.
package emails
