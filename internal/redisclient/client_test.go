package redisclient_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/testenv"
)

// TestNewClientConnects builds a client from a redis:// URL and talks to the test Redis.
func TestNewClientConnects(t *testing.T) {
	addr := testenv.RedisAddr(t)
	client, err := redisclient.New("redis://"+addr+"/0?dial_timeout=3s&client_name=cachetest", "")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	if _, ok := client.(*redis.Client); !ok {
		t.Errorf("New(redis://) = %T, want *redis.Client", client)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	name, err := client.ClientGetName(ctx).Result()
	if err != nil || name != "cachetest" {
		t.Errorf("CLIENT GETNAME = %q, %v; want cachetest: the options reached the client", name, err)
	}
}

// TestParseURL checks what New makes of each accepted form, without connecting.
func TestParseURL(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		o := parseSimple(t, "redis://u:p%40ss@db.example:6380/3?pool_size=7")
		if o.Addr != "db.example:6380" || o.Username != "u" || o.Password != "p@ss" || o.DB != 3 || o.PoolSize != 7 || o.TLSConfig != nil {
			t.Errorf("options = addr %s user %s pass %s db %d pool %d tls %v", o.Addr, o.Username, o.Password, o.DB, o.PoolSize, o.TLSConfig != nil)
		}
	})
	t.Run("rediss", func(t *testing.T) {
		o := parseSimple(t, "rediss://db.example/1")
		if o.TLSConfig == nil || o.TLSConfig.ServerName != "db.example" || o.DB != 1 {
			t.Errorf("options = tls %v db %d, want TLS for db.example and db 1", o.TLSConfig, o.DB)
		}
	})
	t.Run("unix", func(t *testing.T) {
		o := parseSimple(t, "unix:///run/redis/redis.sock?db=2")
		if o.Network != "unix" || o.Addr != "/run/redis/redis.sock" || o.DB != 2 {
			t.Errorf("options = %s %s db %d", o.Network, o.Addr, o.DB)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		_, o, _, err := redisclient.ParseURL("redis+sentinel://app:s3cret@s1:26379,s2,[::1]:26380/mymaster/2?dial_timeout=2s&sentinel_password=sp")
		if err != nil || o == nil {
			t.Fatalf("ParseURL = %v, %v", o, err)
		}
		wantAddrs := []string{"s1:26379", "s2:26379", "[::1]:26380"}
		if !slices.Equal(o.SentinelAddrs, wantAddrs) || o.MasterName != "mymaster" || o.DB != 2 {
			t.Errorf("sentinels %v master %q db %d; want %v mymaster 2", o.SentinelAddrs, o.MasterName, o.DB, wantAddrs)
		}
		if o.Username != "app" || o.Password != "s3cret" || o.SentinelPassword != "sp" || o.SentinelUsername != "" {
			t.Errorf("master credentials %q/%q, sentinel %q/%q", o.Username, o.Password, o.SentinelUsername, o.SentinelPassword)
		}
		if o.DialTimeout != 2*time.Second || o.TLSConfig != nil {
			t.Errorf("dial timeout %s, TLS %v", o.DialTimeout, o.TLSConfig != nil)
		}
	})
	t.Run("sentinel without DB or credentials, with TLS", func(t *testing.T) {
		_, o, _, err := redisclient.ParseURL("rediss+sentinel://s1/mymaster")
		if err != nil || o == nil {
			t.Fatalf("ParseURL = %v, %v", o, err)
		}
		if o.MasterName != "mymaster" || o.DB != 0 || o.Password != "" || o.TLSConfig == nil {
			t.Errorf("master %q db %d password %q tls %v", o.MasterName, o.DB, o.Password, o.TLSConfig != nil)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		_, _, o, err := redisclient.ParseURL("redis+cluster://app:s3cret@c1:7000,c2,c3:7002?read_only=true")
		if err != nil || o == nil {
			t.Fatalf("ParseURL = %v, %v", o, err)
		}
		wantAddrs := []string{"c1:7000", "c2:6379", "c3:7002"}
		if !slices.Equal(o.Addrs, wantAddrs) || o.Username != "app" || o.Password != "s3cret" || !o.ReadOnly {
			t.Errorf("addrs %v user %q pass %q read only %v", o.Addrs, o.Username, o.Password, o.ReadOnly)
		}
		// A dead master's slots must not be sent to it for go-redis's default minute.
		if o.ClusterStateReloadInterval != redisclient.ClusterStateReloadInterval {
			t.Errorf("slot map reload interval %s, want %s", o.ClusterStateReloadInterval, redisclient.ClusterStateReloadInterval)
		}
	})
	t.Run("cluster with TLS and one seed", func(t *testing.T) {
		_, _, o, err := redisclient.ParseURL("rediss+cluster://c1:7000/")
		if err != nil || o == nil || o.TLSConfig == nil || !slices.Equal(o.Addrs, []string{"c1:7000"}) {
			t.Errorf("ParseURL = %+v, %v; want one seed with TLS", o, err)
		}
	})
}

func parseSimple(t *testing.T, raw string) *redis.Options {
	t.Helper()
	o, f, c, err := redisclient.ParseURL(raw)
	if err != nil || o == nil || f != nil || c != nil {
		t.Fatalf("ParseURL(%s) = %v, %v, %v, %v; want simple options", raw, o, f, c, err)
	}
	return o
}

// TestNewClientTypes checks the kind of client of each form; nothing connects.
func TestNewClientTypes(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"redis://127.0.0.1:1/0", "*redis.Client"},
		{"unix:///tmp/nothing.sock", "*redis.Client"},
		{"redis+sentinel://127.0.0.1:1/mymaster", "*redis.Client"},
		{"redis+cluster://127.0.0.1:1,127.0.0.1:2", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		client, err := redisclient.New(tt.url, "")
		if err != nil {
			t.Errorf("New(%s): %v", tt.url, err)
			continue
		}
		if got := typeName(client); got != tt.want {
			t.Errorf("New(%s) = %s, want %s", tt.url, got, tt.want)
		}
		_ = client.Close()
	}
}

func typeName(c redis.UniversalClient) string {
	switch c.(type) {
	case *redis.Client:
		return "*redis.Client"
	case *redis.ClusterClient:
		return "*redis.ClusterClient"
	default:
		return "other"
	}
}

func TestNewClientRejects(t *testing.T) {
	tests := []struct {
		name, url, mention string
	}{
		{"empty", "", "unknown scheme"},
		{"http", "http://host:6379", "unknown scheme"},
		{"no scheme", "host:6379", "unknown scheme"},
		{"bad DB", "redis://host:6379/x", "database"},
		{"unknown option", "redis://host:6379?bogus=1", "bogus"},
		{"sentinel without master", "redis+sentinel://s1:26379,s2:26379", "master name"},
		{"sentinel with a bad DB", "redis+sentinel://s1/mymaster/x", "database"},
		{"sentinel path too deep", "redis+sentinel://s1/mymaster/1/2", "path"},
		{"sentinel master_name option", "redis+sentinel://s1/m?master_name=other", "master_name"},
		{"sentinel without hosts", "redis+sentinel:///mymaster", "no host"},
		{"empty host in list", "redis+sentinel://s1,,s2/mymaster", "empty host"},
		{"bad port", "redis+cluster://c1:notaport,c2", "port"},
		{"port out of range", "redis+cluster://c1:70000", "port"},
		{"cluster with a DB", "redis+cluster://c1,c2/3", "database"},
		{"cluster unknown option", "redis+cluster://c1?bogus=1", "bogus"},
		{"bad escape in password", "redis+cluster://u:p%zz@c1", "percent-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := redisclient.New(tt.url, "")
			if err == nil {
				_ = client.Close()
				t.Fatalf("New(%q) = nil error", tt.url)
			}
			if !errors.Is(err, redisclient.ErrInvalidURL) {
				t.Errorf("error %v does not wrap ErrInvalidURL", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q does not mention %q", msg, tt.mention)
			}
			for _, form := range []string{"redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://"} {
				if !strings.Contains(msg, form) {
					t.Errorf("error %q does not name the accepted form %s", msg, form)
				}
			}
		})
	}
}

func TestNewClientErrorsHidePasswords(t *testing.T) {
	for _, u := range []string{
		"redis://user:hunter2@host:6379/x",
		"redis://user:hunter2@host:6379/%zz",
		"redis+sentinel://user:hunter2@s1/m?sentinel_password=hunter2&bogus=1",
		"redis+cluster://user:hunter2@c1/3",
		"redis+cluster://user:hunter2@c1?password=hunter2&bogus=1",
		"ftp://user:hunter2@host",
	} {
		_, err := redisclient.New(u, "")
		if err == nil {
			t.Errorf("New(%s) = nil error", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if got := redisclient.RedactURL("redis+sentinel://u:pw@s1,s2/m?sentinel_password=x&db=1"); got != "redis+sentinel://u:xxxxx@s1,s2/m?sentinel_password=xxxxx&db=1" {
		t.Errorf("RedactURL = %s", got)
	}
}
