package amqpnodes

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		raw   string
		addrs []string
		// wantErr are the pieces the error must hold, in order of the elements.
		wantErr []string
	}{
		{name: "one URL", raw: "amqp://u:p@rabbit:5672/shop", addrs: []string{"rabbit:5672"}},
		{name: "default port", raw: "amqp://rabbit", addrs: []string{"rabbit:5672"}},
		{name: "amqps default port", raw: "amqps://rabbit/", addrs: []string{"rabbit:5671"}},
		{name: "three nodes, spaces", raw: "amqp://u:p@r1:5672/shop, amqp://u:p@r2:5673/shop ,amqps://u:p@r3/shop",
			addrs: []string{"r1:5672", "r2:5673", "r3:5671"}},
		{name: "IPv6", raw: "amqp://[::1]:5672/", addrs: []string{"[::1]:5672"}},
		{name: "bad scheme", raw: "http://u:s3cret@r1/", wantErr: []string{`URL "http://u:xxxxx@r1/": not an amqp:// or amqps:// URL`}},
		{name: "trailing comma", raw: "amqp://r1/,", wantErr: []string{"element 2: empty"}},
		{name: "every problem, by element", raw: "amqp://u:s3cret@r1/a,redis://u:s3cret@r2/,amqp://u:s3cret@r3/b,amqp://r1/a",
			wantErr: []string{
				`element 2 "redis://u:xxxxx@r2/": not an amqp:// or amqps:// URL`,
				`element 3 "amqp://u:xxxxx@r3/b": vhost "b" differs from "a" of the first`,
				`element 4 "amqp://r1/a": node r1:5672 is element 1 already`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nodes, err := Parse(tc.raw)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse(%q): %v", tc.raw, err)
				}
				if got := Addrs(nodes); !slices.Equal(got, tc.addrs) {
					t.Errorf("addresses %v, want %v", got, tc.addrs)
				}
				return
			}
			if !errors.Is(err, ErrInvalidList) {
				t.Fatalf("Parse(%q) = %v, want an ErrInvalidList", tc.raw, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "s3cret") {
				t.Errorf("the error shows a password: %s", msg)
			}
			if n := len(strings.Split(msg, "\n")); n != len(tc.wantErr) {
				t.Errorf("%d problems, want %d:\n%s", n, len(tc.wantErr), msg)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	got := Redact("amqp://u:s3cret@r1:5672/,amqps://v:t0p@r2/vh")
	if want := "amqp://u:xxxxx@r1:5672/,amqps://v:xxxxx@r2/vh"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if got := Redact("amqp://r1/"); got != "amqp://r1/" {
		t.Errorf("a URL without a password changed: %q", got)
	}
}
