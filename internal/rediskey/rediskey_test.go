package rediskey

import "testing"

func TestHashTag(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"tenant:acme:product:p1", "tenant:acme:product:p1"},
		{"{shop}tenant:acme", "shop"},
		{"a{}b{c}", "a{}b{c}"}, // an empty first tag hashes the whole key
		{"a{b", "a{b"},
		{"x{y}z{w}", "y"},
	} {
		if got := HashTag(tc.key); got != tc.want {
			t.Errorf("HashTag(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestBesideSharesTheSlot(t *testing.T) {
	for _, near := range []string{"tenant:acme:product:p1", "{shop}tenant:acme:product:p1"} {
		k := Beside("eventworker:idem:cache:", near, ":e1")
		if HashTag(k) != HashTag(near) {
			t.Errorf("Beside(%q) = %q: tag %q, want %q", near, k, HashTag(k), HashTag(near))
		}
	}
	if got := Beside("s:", "n", ":r"); got != "s:{n}:r" {
		t.Errorf("Beside = %q", got)
	}
}
