// Package tenants keeps the worker's own record of each tenant, in Redis under
// P + "eventworker:tenant:" (never under "tenant:", so no cache purge can erase it):
//
//   - the profile from tenant.provisioned: shop name, owner and support email, locale, plan and
//     an optional time zone, which the notifications consumer uses for branding and the
//     low-stock alert's recipient;
//   - the suspension flag set by tenant.suspended and cleared by tenant.reactivated, which gates
//     every email of the tenant;
//   - the locale a customer registered with (user.registered), so their order emails are in
//     their language.
//
// Every write carries the time the event occurred and is applied atomically only when it is
// not older than what is stored, so redelivered or reordered events never bring back an old
// profile or flip a suspension back.
package tenants
