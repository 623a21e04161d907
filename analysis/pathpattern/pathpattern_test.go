package pathpattern

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"k8s.io/kubernetes/pkg/kubelet", "k8s.io/kubernetes/pkg/kubelet", true},
		{"k8s.io/kubernetes/pkg/kubelet", "k8s.io/kubernetes/pkg/kubelet/client", false},
		{"k8s.io/kubernetes/pkg/kubelet/...", "k8s.io/kubernetes/pkg/kubelet", true},
		{"k8s.io/kubernetes/pkg/kubelet/...", "k8s.io/kubernetes/pkg/kubelet/client", true},
		{"k8s.io/kubernetes/pkg/kubelet/...", "k8s.io/kubernetes/pkg/kubeletx", false},
		{"k8s.io/kubernetes/pkg/registry/*", "k8s.io/kubernetes/pkg/registry/core", true},
		{"k8s.io/kubernetes/pkg/registry/*", "k8s.io/kubernetes/pkg/registry/core/pod", false},
		{"k8s.io/*/pkg", "k8s.io/apiserver/pkg", true},
		{"...", "fmt", true},
		{"k8s.io/api", "k8s.io/apiXserver", false}, // the dot is literal
		{"k8s.io/api/...", "k8s.io/apiserver/pkg", false},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		require.NoError(t, err)
		assert.Equal(t, tt.want, p.Match(tt.path), "%s ~ %s", tt.pattern, tt.path)
	}
}

func TestPrefixMatch(t *testing.T) {
	tests := []struct {
		pattern, path, want string
		ok                  bool
	}{
		{"k8s.io/kubernetes/pkg/registry/*", "k8s.io/kubernetes/pkg/registry/core/pod/storage", "k8s.io/kubernetes/pkg/registry/core", true},
		{"k8s.io/kubernetes/pkg/registry/*", "k8s.io/kubernetes/pkg/registry", "", false},
		{"k8s.io/kubernetes/pkg/registry/...", "k8s.io/kubernetes/pkg/registry/core/pod", "k8s.io/kubernetes/pkg/registry", true},
		{"k8s.io/kubernetes/pkg/registry/...", "k8s.io/kubernetes/pkg/registry", "k8s.io/kubernetes/pkg/registry", true},
		{"k8s.io/kubernetes/pkg/registry/...", "k8s.io/kubernetes/pkg/api", "", false},
	}
	for _, tt := range tests {
		got, ok := MustCompile(tt.pattern).PrefixMatch(tt.path)
		assert.Equal(t, tt.ok, ok, "%s ~ %s", tt.pattern, tt.path)
		assert.Equal(t, tt.want, got, "%s ~ %s", tt.pattern, tt.path)
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile("")
	assert.Error(t, err)
	_, err = Compile("a b")
	assert.Error(t, err)
}
