package bench

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// countHook counts what a go-redis client sends for events: commands (each command of a
// pipeline counts) and round trips (a pipeline is one). Connection set-up (HELLO, CLIENT, AUTH,
// SELECT) and health checks (PING) are not counted: they are not paid per event.
type countHook struct {
	commands   atomic.Int64
	roundTrips atomic.Int64
}

// notPerEvent are the commands a client sends to open, set up and check connections.
var notPerEvent = map[string]bool{"hello": true, "client": true, "auth": true, "select": true, "ping": true}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !notPerEvent[cmd.Name()] {
			h.commands.Add(1)
			h.roundTrips.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n := 0
		for _, c := range cmds {
			if !notPerEvent[c.Name()] {
				n++
			}
		}
		if n > 0 {
			h.commands.Add(int64(n))
			h.roundTrips.Add(1)
		}
		return next(ctx, cmds)
	}
}

// commandStats are the calls per command of Redis's INFO commandstats. They count every
// command the server ran, those a Lua script called included.
type commandStats map[string]int64

// readCommandStats reads INFO commandstats.
func readCommandStats(ctx context.Context, rdb redis.UniversalClient) (commandStats, error) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		// Each master counts its own commands: sum them.
		var mu sync.Mutex
		out := commandStats{}
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			info, err := node.Info(ctx, "commandstats").Result()
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range parseCommandStats(info) {
				out[k] += v
			}
			return nil
		})
		return out, err
	}
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats reads lines such as "cmdstat_get:calls=12,usec=40,...".
func parseCommandStats(info string) commandStats {
	out := commandStats{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, field := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					out[strings.TrimPrefix(name, "cmdstat_")] = n
				}
			}
		}
	}
	return out
}

// since is what ran between before and s, without the commands the harness itself sends to read
// the statistics (info).
func (s commandStats) since(before commandStats) commandStats {
	out := commandStats{}
	for k, v := range s {
		if d := v - before[k]; d > 0 && k != "info" {
			out[k] = d
		}
	}
	return out
}

func (s commandStats) total() int64 {
	var n int64
	for _, v := range s {
		n += v
	}
	return n
}

// RedisUse is what one run asked of Redis, per handler call.
type RedisUse struct {
	// CommandsPerCall counts the commands the process sent (a script's EVALSHA is one; each
	// command of a pipeline is one), from a hook on its client.
	CommandsPerCall float64 `json:"commands_per_call"`
	// RoundTripsPerCall counts the process's round trips (a pipeline is one).
	RoundTripsPerCall float64 `json:"round_trips_per_call"`
	// ExecutedPerCall counts what the server ran (INFO commandstats), the commands inside
	// scripts included; ByCommand splits it.
	ExecutedPerCall float64            `json:"executed_per_call"`
	ByCommand       map[string]float64 `json:"by_command"`
}

// newRedisUse divides the counts by calls.
func newRedisUse(sent, trips int64, executed commandStats, calls int) *RedisUse {
	u := &RedisUse{
		CommandsPerCall: Ratio(float64(sent), float64(calls)), RoundTripsPerCall: Ratio(float64(trips), float64(calls)),
		ExecutedPerCall: Ratio(float64(executed.total()), float64(calls)), ByCommand: map[string]float64{},
	}
	for k, v := range executed {
		u.ByCommand[k] = Ratio(float64(v), float64(calls))
	}
	return u
}

// breakdown is ByCommand as "evalsha 1.00, set 2.00", largest first.
func (u *RedisUse) breakdown() string {
	keys := slices.SortedFunc(maps.Keys(u.ByCommand), func(a, b string) int {
		if u.ByCommand[a] != u.ByCommand[b] {
			if u.ByCommand[a] > u.ByCommand[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+strconv.FormatFloat(u.ByCommand[k], 'f', 2, 64))
	}
	return strings.Join(parts, ", ")
}
