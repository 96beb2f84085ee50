package publisher

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/registry"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	reg, err := registry.Default()
	if err != nil {
		t.Fatalf("registry.Default: %v", err)
	}
	tests := []struct {
		name string
		in   Config
		want Config // Logger is checked separately
	}{
		{
			name: "zero",
			want: Config{Exchange: "events", Registry: reg, ConfirmTimeout: 5 * time.Second, Channels: 4, ConnectionName: "eventworker-publisher"},
		},
		{
			name: "connection name from producer",
			in:   Config{Producer: "checkout"},
			want: Config{Producer: "checkout", Exchange: "events", Registry: reg, ConfirmTimeout: 5 * time.Second, Channels: 4, ConnectionName: "checkout"},
		},
		{
			name: "set values kept",
			in:   Config{Exchange: "x", ConfirmTimeout: time.Second, Channels: 1, ConnectionName: "c"},
			want: Config{Exchange: "x", Registry: reg, ConfirmTimeout: time.Second, Channels: 1, ConnectionName: "c"},
		},
	}
	for _, tc := range tests {
		got := tc.in
		got.setDefaults()
		if got.Logger == nil {
			t.Errorf("%s: Logger not defaulted", tc.name)
		}
		got.Logger = nil
		if got != tc.want {
			t.Errorf("%s: setDefaults gave %+v, want %+v", tc.name, got, tc.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: defaulted config does not validate: %v", tc.name, err)
		}
	}
}

func TestConfigValidateListsEveryProblem(t *testing.T) {
	t.Parallel()
	reg, _ := registry.Default()
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings, one per problem
	}{
		{
			name: "everything wrong",
			cfg: Config{
				URL: "http://guest:s3cret@host/", Producer: strings.Repeat("p", 129),
				ConfirmTimeout: -1, Channels: -2,
			},
			want: []string{"url:", "registry:", "exchange: empty", "producer:", "confirm timeout:", "channels:"},
		},
		{
			name: "unparsable URL",
			cfg:  Config{URL: "amqp://guest:s3cret@host:port/", Registry: reg, Exchange: "e", ConfirmTimeout: 1, Channels: 1},
			want: []string{"url: invalid AMQP URL list"},
		},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%s: Validate = %v, want an error matching ErrInvalidConfig", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not report %q: %v", tc.name, w, err)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error leaks the URL's password: %v", tc.name, err)
		}
	}
}

func TestNewRejectsBadConfigWithoutDialing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "url: empty"},
		{"no channels", Config{URL: "amqp://u:p@127.0.0.1:1/", Channels: -1}, "channels:"},
	}
	for _, tc := range tests {
		_, err := New(context.Background(), tc.cfg)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig naming %q", tc.name, err, tc.want)
		}
	}
}

func TestNewWithSenderNeedsASender(t *testing.T) {
	t.Parallel()
	if _, err := NewWithSender(nil, Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewWithSender(nil) = %v, want ErrInvalidConfig", err)
	}
}

func TestNewUnreachableBrokerHidesPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback refuses at once.
	_, err := New(ctx, Config{URL: "amqp://guest:s3cret@127.0.0.1:1/"})
	if err == nil {
		t.Fatal("New succeeded against a port where no broker listens")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("New's error should name the broker without its password: %v", err)
	}
}
