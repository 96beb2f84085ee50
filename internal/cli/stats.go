package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/redisclient"
)

const statsSummary = "Print a tenant's daily counters: orders, revenue, registrations"

// now is the clock of the stats command; tests set it.
var now = time.Now

func runStats(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" --tenant TENANT [--days N] [--json]\n\n"+
		"Prints the analytics consumer's counters of one tenant for the last N UTC days, today\n"+
		"included: orders created, confirmed and cancelled, users registered, and the revenue of\n"+
		"confirmed orders per currency. Redis comes from $EVENTWORKER_REDIS_URL (or --redis-url)\n"+
		"and the key prefix from $EVENTWORKER_CACHE_PREFIX (or --cache-prefix).")
	tenant := f.String("tenant", "", "the tenant (shop) `ID`")
	days := f.Int("days", 7, "how many `DAYS`, today included")
	asJSON := f.Bool("json", false, "print JSON instead of a table")
	f.String("redis-url", "", "Redis `URL` (default $EVENTWORKER_REDIS_URL)")
	f.String("cache-prefix", "", "key `PREFIX` (default $EVENTWORKER_CACHE_PREFIX)")
	rest, status, ok := f.parse(e, args)
	if !ok {
		return status
	}
	switch {
	case len(rest) > 0:
		return e.usageError(path, "takes no arguments, got %q", rest[0])
	case *tenant == "":
		return e.usageError(path, "--tenant is required")
	case *days < 1 || *days > 400:
		return e.usageError(path, "--days %d must be between 1 and 400 (counters are kept 400 days)", *days)
	}
	cfg, err := e.loadConfig(f.FlagSet, nil)
	if err != nil {
		return e.fail(path, err)
	}
	rdb, err := redisclient.New(cfg.RedisURL, cfg.RedisCAFile)
	if err != nil {
		return e.fail(path, fmt.Errorf("EVENTWORKER_REDIS_URL: %w", err))
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	result, err := analytics.New(rdb, cfg.CachePrefix).Days(ctx, *tenant, now(), *days)
	if err != nil {
		return e.fail(path, err)
	}
	if *asJSON {
		err = writeStatsJSON(e.stdout, *tenant, result)
	} else {
		err = writeStatsTable(e.stdout, *tenant, result)
	}
	if err != nil {
		return e.fail(path, err)
	}
	return exitOK
}

// statsDay is one day of `stats --json`.
type statsDay struct {
	Date            string           `json:"date"`
	OrdersCreated   int64            `json:"orders_created"`
	OrdersConfirmed int64            `json:"orders_confirmed"`
	OrdersCancelled int64            `json:"orders_cancelled"`
	UsersRegistered int64            `json:"users_registered"`
	RevenueMinor    map[string]int64 `json:"revenue_minor"`
}

func toStatsDay(d analytics.Day) statsDay {
	return statsDay{
		Date:            d.Date.Format(time.DateOnly),
		OrdersCreated:   d.Counters[analytics.OrdersCreated],
		OrdersConfirmed: d.Counters[analytics.OrdersConfirmed],
		OrdersCancelled: d.Counters[analytics.OrdersCancelled],
		UsersRegistered: d.Counters[analytics.UsersRegistered],
		RevenueMinor:    d.Revenue(),
	}
}

func writeStatsJSON(w io.Writer, tenant string, days []analytics.Day) error {
	out := struct {
		Tenant string     `json:"tenant_id"`
		Days   []statsDay `json:"days"`
	}{Tenant: tenant}
	for _, d := range days {
		out.Days = append(out.Days, toStatsDay(d))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeStatsTable(w io.Writer, tenant string, days []analytics.Day) error {
	fmt.Fprintf(w, "tenant %s, %d UTC days\n\n", tenant, len(days))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DATE\tCREATED\tCONFIRMED\tCANCELLED\tREGISTERED\tREVENUE\t")
	var total statsDay
	total.RevenueMinor = map[string]int64{}
	for _, d := range days {
		s := toStatsDay(d)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t\n", s.Date, s.OrdersCreated, s.OrdersConfirmed, s.OrdersCancelled, s.UsersRegistered, analytics.FormatRevenue(s.RevenueMinor))
		total.OrdersCreated += s.OrdersCreated
		total.OrdersConfirmed += s.OrdersConfirmed
		total.OrdersCancelled += s.OrdersCancelled
		total.UsersRegistered += s.UsersRegistered
		for c, v := range s.RevenueMinor {
			total.RevenueMinor[c] += v
		}
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%s\t\n", total.OrdersCreated, total.OrdersConfirmed, total.OrdersCancelled, total.UsersRegistered, analytics.FormatRevenue(total.RevenueMinor))
	return tw.Flush()
}
