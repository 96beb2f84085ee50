package redisclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated is the error of a write that the master applied but that fewer replicas
// than wait_replicas acknowledged within wait_timeout. IsUnavailable counts it as an outage: the
// event is retried, and its idempotency record (written with the effect) makes the retry change
// nothing if the write survives.
var ErrNotReplicated = errors.New("redis: the write was not acknowledged by enough replicas in time")

// defaultWaitTimeout is wait_timeout when a URL sets wait_replicas alone.
const defaultWaitTimeout = 500 * time.Millisecond

// replicaWait holds a URL's wait_replicas and wait_timeout options.
type replicaWait struct {
	replicas int
	timeout  time.Duration
}

// takeWaitOptions removes wait_replicas and wait_timeout from rawURL's query, which go-redis
// would refuse, and returns what they say.
func takeWaitOptions(rawURL string) (string, replicaWait, error) {
	w := replicaWait{timeout: defaultWaitTimeout}
	base, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return rawURL, w, nil
	}
	query, frag, hasFrag := strings.Cut(query, "#")
	var keep []string
	timeoutSet := false
	for kv := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "wait_replicas":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return "", w, fmt.Errorf("wait_replicas=%q: want a number of replicas >= 0", v)
			}
			w.replicas = n
		case "wait_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Millisecond {
				return "", w, fmt.Errorf("wait_timeout=%q: want a duration of at least 1ms, such as 500ms", v)
			}
			w.timeout, timeoutSet = d, true
		default:
			keep = append(keep, kv)
		}
	}
	if timeoutSet && w.replicas == 0 {
		return "", w, fmt.Errorf("wait_timeout without wait_replicas: set how many replicas must acknowledge a write")
	}
	out := base
	if len(keep) > 0 {
		out += "?" + strings.Join(keep, "&")
	}
	if hasFrag {
		out += "#" + frag
	}
	return out, w, nil
}

// install makes every write of c wait for w.replicas replicas (nothing when w asks for none).
// On a Cluster each master's client gets the hook, so the WAIT follows the write to its master.
func (w replicaWait) install(c redis.UniversalClient) {
	if w.replicas == 0 {
		return
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		c.OnNewNode(func(node *redis.Client) { node.AddHook(&waitHook{w: w, client: node}) })
	case *redis.Client:
		c.AddHook(&waitHook{w: w, client: c})
	}
}

// waitHook sends WAIT numreplicas timeout after each write, in one pipeline with it: WAIT
// covers the writes made on its own connection, so both must go on the same one. Redis
// replicates asynchronously; without the WAIT, a master that dies right after it acknowledged a
// write may never have sent it to the replica that takes over, and the worker, having seen the
// write succeed, acknowledges the event: an effect lost in a failover.
type waitHook struct {
	w      replicaWait
	client *redis.Client
}

// writes are the commands of the worker that change data.
var writes = map[string]bool{
	"eval": true, "evalsha": true, "set": true, "setex": true, "setnx": true, "mset": true,
	"incr": true, "incrby": true, "decr": true, "del": true, "unlink": true, "hset": true,
	"hdel": true, "hincrby": true, "expire": true, "pexpire": true,
}

func isWrite(cmd redis.Cmder) bool { return writes[strings.ToLower(cmd.Name())] }

// DialHook changes nothing.
func (h *waitHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

// ProcessHook sends a write as a pipeline of one, which ProcessPipelineHook ends with WAIT.
func (h *waitHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isWrite(cmd) {
			return next(ctx, cmd)
		}
		_, _ = h.client.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Process(ctx, cmd) })
		return cmd.Err()
	}
}

// ProcessPipelineHook ends a pipeline that writes with WAIT, and fails its writes with
// ErrNotReplicated when too few replicas acknowledged them.
func (h *waitHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		write := false
		for _, c := range cmds {
			write = write || isWrite(c)
		}
		if !write {
			return next(ctx, cmds)
		}
		wait := redis.NewIntCmd(ctx, "wait", h.w.replicas, h.w.timeout.Milliseconds())
		err := next(ctx, append(cmds[:len(cmds):len(cmds)], wait))
		if err == nil && wait.Err() == nil && wait.Val() < int64(h.w.replicas) {
			err = fmt.Errorf("%d of %d replicas within %s: %w", wait.Val(), h.w.replicas, h.w.timeout, ErrNotReplicated)
			for _, c := range cmds {
				if isWrite(c) && c.Err() == nil {
					c.SetErr(err)
				}
			}
		}
		return err
	}
}
