package buildversion

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	utilversion "k8s.io/apimachinery/pkg/util/version"
)

func TestKubeVersion(t *testing.T) {
	fallback := utilversion.MajorMinor(1, 37)
	mod := func(path, version string) *debug.Module { return &debug.Module{Path: path, Version: version} }
	cases := []struct {
		name string
		deps []*debug.Module
		want string
	}{
		{"kubernetes module", []*debug.Module{mod("k8s.io/apiserver", "v0.37.2"), mod("k8s.io/kubernetes", "v1.37.2")}, "v1.37.2"},
		{"staging module only", []*debug.Module{mod("k8s.io/apiserver", "v0.37.1")}, "v1.37.1"},
		{"replaced staging module", []*debug.Module{{Path: "k8s.io/apiserver", Version: "v0.0.0", Replace: mod("k8s.io/apiserver", "v0.37.2")}}, "v1.37.2"},
		{"local tree", []*debug.Module{{Path: "k8s.io/kubernetes", Version: "v1.37.2", Replace: mod("../kk", "")}}, "v1.37.0"},
		{"pseudo-version", []*debug.Module{mod("k8s.io/kubernetes", "v1.38.0-alpha.0.0.20260101120000-abcdef123456")}, "v1.37.0"},
		{"no build info", nil, "v1.37.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var build *debug.BuildInfo
			if c.deps != nil {
				build = &debug.BuildInfo{Deps: c.deps}
			}
			got := kubeVersion(build, fallback)
			assert.Equal(t, c.want, got)
			_, err := utilversion.ParseSemantic(got)
			assert.NoError(t, err)
		})
	}
}
