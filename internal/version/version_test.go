package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		want   Info
	}{
		{
			name: "no build info",
			want: Info{Version: "dev", Revision: "unknown", GoVersion: runtime.Version()},
		},
		{
			name:   "ldflags wins over the module version",
			linked: "v1.2.3",
			bi:     &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-2026"}},
			want:   Info{Version: "v1.2.3", Revision: "unknown", GoVersion: "go1.26.8"},
		},
		{
			name: "devel build in a checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: settings("vcs.revision", "0123456789abcdef0123", "vcs.modified", "false")},
			want: Info{Version: "dev", Revision: "0123456789ab", GoVersion: "go1.26.8"},
		},
		{
			name: "module version and dirty tree",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"},
				Settings: settings("vcs.revision", "abc", "vcs.modified", "true")},
			want: Info{Version: "v1.4.0", Revision: "abc-dirty", GoVersion: "go1.26.8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuildInfo(tt.linked, tt.bi); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.2.3", Revision: "0123456789ab", GoVersion: "go1.26.8"}.String()
	if want := "eventworker v1.2.3 (0123456789ab, go1.26.8)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s := Get().String(); !strings.HasPrefix(s, "eventworker ") {
		t.Errorf("Get().String() = %q", s)
	}
}

func TestLinkedCommit(t *testing.T) {
	old := Commit
	t.Cleanup(func() { Commit = old })
	Commit = "0123456789abcdef0123"
	if got := Get().Revision; got != "0123456789ab" {
		t.Errorf("Revision with a linked commit = %q, want the first 12 characters", got)
	}
}
