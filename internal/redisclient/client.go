package redisclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Default ports of a host given without one in a multi-host URL.
const (
	defaultSentinelPort = "26379"
	defaultRedisPort    = "6379"
)

// New returns a Redis client for rawURL, one of:
//
//	redis://[user:pass@]host:6379[/db][?opts]       one server (rediss:// for TLS)
//	unix://[user:pass@]/path/to/redis.sock[?db=N]   one server on a Unix socket
//	redis+sentinel://[user:pass@]host1:26379,host2:26379/MASTER[/db][?opts]
//	redis+cluster://[user:pass@]host1:6379,host2:6379[?opts]
//
// rediss+sentinel:// and rediss+cluster:// use TLS. A host without a port gets 26379 in a
// sentinel URL and 6379 otherwise. opts are go-redis's URL options (dial_timeout=3s,
// pool_size=20, ...; see redis.ParseURL, redis.ParseFailoverURL and redis.ParseClusterURL),
// and an unknown one is an error. In a sentinel URL, user and password authenticate to the
// master and its replicas, as in a redis:// URL; sentinels that require their own credentials
// take them from the sentinel_username and sentinel_password options. A Cluster has no
// database number.
//
// The client speaks RESP2 unless the URL sets protocol=3.
//
// Two options are the worker's own: wait_replicas=N makes every write wait, in the same round
// trip, until N replicas acknowledged it (Redis's WAIT), for at most wait_timeout (a Go
// duration, 500ms by default); a write too few replicas acknowledged fails with
// ErrNotReplicated. Redis replicates asynchronously, so without it a master that dies right
// after acknowledging a write may lose it in the failover.
//
// Sentinel and Cluster clients connect lazily, so a parsable URL is no proof that the servers
// answer: ping the client. A bad URL gives an error wrapping ErrInvalidURL, whose message
// lists the accepted forms; passwords never appear in it.
//
// With a caFile, the client trusts the CA certificates in that PEM file instead of the
// system's for a TLS URL (rediss://, rediss+sentinel://, rediss+cluster://); a caFile with a
// URL that does not use TLS is an error, since it would be ignored.
func New(rawURL, caFile string) (redis.UniversalClient, error) {
	p, err := prepare(rawURL, caFile)
	if err != nil {
		return nil, err
	}
	return p.client(), nil
}

// parsedURL holds the options of exactly one kind of client.
type parsedURL struct {
	simple   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
	wait     replicaWait
}

// client builds the client the options are for.
func (p parsedURL) client() redis.UniversalClient {
	var c redis.UniversalClient
	switch {
	case p.failover != nil:
		c = redis.NewFailoverClient(p.failover)
	case p.cluster != nil:
		c = redis.NewClusterClient(p.cluster)
	default:
		c = redis.NewClient(p.simple)
	}
	p.wait.install(c)
	return c
}

// tlsConfig is the options' TLS configuration, nil for a URL without TLS.
func (p parsedURL) tlsConfig() *tls.Config {
	switch {
	case p.failover != nil:
		return p.failover.TLSConfig
	case p.cluster != nil:
		return p.cluster.TLSConfig
	default:
		return p.simple.TLSConfig
	}
}

func parseURL(rawURL string) (parsedURL, error) {
	scheme, _, _ := strings.Cut(rawURL, "://")
	var (
		p   parsedURL
		err error
	)
	full := rawURL
	rawURL, p.wait, err = takeWaitOptions(rawURL)
	if err != nil {
		return parsedURL{}, fmt.Errorf("redis URL %s: %w: %w", redactURL(full), err, ErrInvalidURL)
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		p.simple, err = redis.ParseURL(rawURL)
	case "redis+sentinel", "rediss+sentinel":
		p.failover, err = parseSentinelURL(rawURL)
	case "redis+cluster", "rediss+cluster":
		p.cluster, err = parseClusterURL(rawURL)
	default:
		err = fmt.Errorf("unknown scheme %q", scheme)
	}
	if err != nil {
		// A *url.Error quotes the whole URL, password included: keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return parsedURL{}, fmt.Errorf("redis URL %s: %w: %w", redactURL(rawURL), err, ErrInvalidURL)
	}
	if !hasOption(rawURL, "protocol") {
		p.setProtocol(2)
	}
	return p, nil
}

// setProtocol sets the RESP version the client speaks. New chooses RESP2 unless the URL
// has a protocol option: nothing here uses what RESP3 adds (push notifications for client-side
// caching), and on a RESP3 connection go-redis looks for pending push notifications around
// every command, a cost the worker pays per event.
func (p parsedURL) setProtocol(v int) {
	switch {
	case p.failover != nil:
		p.failover.Protocol = v
	case p.cluster != nil:
		p.cluster.Protocol = v
	default:
		p.simple.Protocol = v
	}
}

// hasOption reports whether rawURL's query names option.
func hasOption(rawURL, option string) bool {
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return false
	}
	query, _, _ = strings.Cut(query, "#")
	for kv := range strings.SplitSeq(query, "&") {
		if k, _, _ := strings.Cut(kv, "="); k == option {
			return true
		}
	}
	return false
}

// multiHostURL is a sentinel or cluster URL taken apart: go-redis's parsers take one host in
// the authority, so New rewrites the others into addr= options they understand.
type multiHostURL struct {
	tls      bool
	userinfo string // as written, still percent-encoded
	hosts    []string
	path     string // decoded
	query    url.Values
}

func splitMultiHostURL(rawURL, defaultPort string) (multiHostURL, error) {
	var m multiHostURL
	scheme, rest, _ := strings.Cut(rawURL, "://")
	m.tls = strings.HasPrefix(strings.ToLower(scheme), "rediss+")
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	hostList := authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		m.userinfo, hostList = authority[:i], authority[i+1:]
	}
	if hostList == "" {
		return m, fmt.Errorf("no host")
	}
	for h := range strings.SplitSeq(hostList, ",") {
		addr, err := normalizeHost(h, defaultPort)
		if err != nil {
			return m, err
		}
		m.hosts = append(m.hosts, addr)
	}
	// The tail is a path and query, which url.Parse decodes once we give it a plain host.
	u, err := url.Parse("redis://placeholder" + tail)
	if err != nil {
		return m, fmt.Errorf("path or query: %w", err)
	}
	m.path = u.Path
	m.query = u.Query()
	if m.userinfo != "" {
		// Check the userinfo's escapes now, so its error does not come later from go-redis
		// with the password in it.
		if _, err := url.Parse("redis://" + m.userinfo + "@placeholder"); err != nil {
			return m, fmt.Errorf("user or password is not properly percent-encoded")
		}
	}
	return m, nil
}

// normalizeHost returns host:port for h, adding defaultPort when h has none.
func normalizeHost(h, defaultPort string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("empty host in the host list")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port (or a bracketed IPv6 address without one).
		host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		if strings.ContainsAny(host, "[]") {
			return "", fmt.Errorf("host %q: %w", h, err)
		}
	}
	if host == "" {
		return "", fmt.Errorf("host %q has no name", h)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("host %q: port %q is not a number from 1 to 65535", h, port)
	}
	return net.JoinHostPort(host, port), nil
}

// rewrite builds the one-host redis:// or rediss:// URL go-redis parses, with the other hosts
// as addr= options.
func (m multiHostURL) rewrite(path string) string {
	q := url.Values{}
	for k, v := range m.query {
		q[k] = v
	}
	for _, h := range m.hosts[1:] {
		q.Add("addr", h)
	}
	scheme := "redis"
	if m.tls {
		scheme = "rediss"
	}
	s := scheme + "://"
	if m.userinfo != "" {
		s += m.userinfo + "@"
	}
	s += m.hosts[0] + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func parseSentinelURL(rawURL string) (*redis.FailoverOptions, error) {
	m, err := splitMultiHostURL(rawURL, defaultSentinelPort)
	if err != nil {
		return nil, err
	}
	segs := strings.Split(strings.Trim(m.path, "/"), "/")
	if segs[0] == "" {
		return nil, fmt.Errorf("no master name: write it as the path, e.g. /mymaster")
	}
	if len(segs) > 2 {
		return nil, fmt.Errorf("path %q: want /MASTER or /MASTER/DB", m.path)
	}
	if m.query.Has("master_name") {
		return nil, fmt.Errorf("master_name option: the master name is the path")
	}
	path := ""
	if len(segs) == 2 {
		if n, err := strconv.Atoi(segs[1]); err != nil || n < 0 {
			return nil, fmt.Errorf("database %q is not a number >= 0", segs[1])
		}
		path = "/" + segs[1]
	}
	// go-redis takes a sentinel URL's userinfo as the sentinels' credentials; here it is the
	// master's, as in every other form, and the sentinels' come from options of their own.
	sentinelUser, sentinelPass := m.query.Get("sentinel_username"), m.query.Get("sentinel_password")
	m.query.Del("sentinel_username")
	m.query.Del("sentinel_password")
	userinfo := m.userinfo
	m.userinfo = ""
	m.query.Set("master_name", segs[0])
	o, err := redis.ParseFailoverURL(m.rewrite(path))
	if err != nil {
		return nil, err
	}
	if userinfo != "" {
		u, _ := url.Parse("redis://" + userinfo + "@placeholder") // checked by splitMultiHostURL
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPass
	return o, nil
}

func parseClusterURL(rawURL string) (*redis.ClusterOptions, error) {
	m, err := splitMultiHostURL(rawURL, defaultRedisPort)
	if err != nil {
		return nil, err
	}
	if strings.Trim(m.path, "/") != "" {
		return nil, fmt.Errorf("path %q: a Cluster has no database number", m.path)
	}
	o, err := redis.ParseClusterURL(m.rewrite(""))
	if err != nil {
		return nil, err
	}
	o.ClusterStateReloadInterval = ClusterStateReloadInterval
	return o, nil
}

// ClusterStateReloadInterval is how old a Cluster client's map of slots to masters may grow
// before a command reloads it (one CLUSTER SLOTS, in the background). go-redis reloads the
// map at once on a MOVED or ASK reply, but a master that died answers nothing: with go-redis's
// default of a minute, the commands of its slots kept going to the dead address for up to a
// minute after its replica took over. With a second they reach the promoted replica within a
// second of the promotion, at the cost of one CLUSTER SLOTS a second while commands flow.
const ClusterStateReloadInterval = time.Second

// redactURL hides the password of rawURL's userinfo and of password options, for errors.
func redactURL(rawURL string) string {
	s := rawURL
	if _, rest, ok := strings.Cut(s, "://"); ok {
		authority := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			authority = rest[:i]
		}
		if i := strings.LastIndexByte(authority, '@'); i >= 0 {
			if user, _, hasPass := strings.Cut(authority[:i], ":"); hasPass {
				start := len(s) - len(rest)
				s = s[:start] + user + ":xxxxx" + s[start+i:]
			}
		}
	}
	base, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	params := strings.Split(query, "&")
	for i, kv := range params {
		if k, _, _ := strings.Cut(kv, "="); strings.Contains(strings.ToLower(k), "password") {
			params[i] = k + "=xxxxx"
		}
	}
	return base + "?" + strings.Join(params, "&")
}
