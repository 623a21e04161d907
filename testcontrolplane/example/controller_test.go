package example

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/generic-controlplane/gcp/testcontrolplane"
)

// startFunc starts a control plane serving testdata's CRDs.
type startFunc func() (cfg *rest.Config, stop func() error, err error)

// startTestControlPlane is what replaces the envtest.Environment below: in
// a test, the one line testcontrolplane.Start(t, opts).Config.
func startTestControlPlane() (*rest.Config, func() error, error) {
	cp, err := testcontrolplane.New(context.Background(), testcontrolplane.Options{CRDPaths: []string{"testdata"}})
	if err != nil {
		return nil, nil, err
	}
	return cp.Config, cp.Stop, nil
}

func startEnvtest() (*rest.Config, func() error, error) {
	env := &envtest.Environment{CRDDirectoryPaths: []string{"testdata"}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	return cfg, env.Stop, err
}

// run starts a control plane for tb and stops it when tb ends.
func run(tb testing.TB, start startFunc) *rest.Config {
	tb.Helper()
	cfg, stop, err := start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Error(err)
		}
	})
	return cfg
}

func TestWidgetControllerOnTestControlPlane(t *testing.T) {
	t.Parallel()
	widgetControllerTest(t, testcontrolplane.Start(t, testcontrolplane.Options{CRDPaths: []string{"testdata"}}).Config)
}

func TestWidgetControllerOnEnvtest(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS names no kube-apiserver and etcd (make bench-testserver builds them from the pinned modules)")
	}
	widgetControllerTest(t, run(t, startEnvtest))
}

// widgetControllerTest is the test body (CheckWidgetController).
func widgetControllerTest(tb testing.TB, cfg *rest.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := CheckWidgetController(ctx, cfg); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkWidgetControllerTest is one controller test, control plane
// start and stop included, on each control plane.
func BenchmarkWidgetControllerTest(b *testing.B) {
	for _, c := range []struct {
		name  string
		start startFunc
	}{{"testcontrolplane", startTestControlPlane}, {"envtest", startEnvtest}} {
		b.Run(c.name, func(b *testing.B) {
			if c.name == "envtest" && os.Getenv("KUBEBUILDER_ASSETS") == "" {
				b.Skip("KUBEBUILDER_ASSETS is not set")
			}
			for range b.N {
				cfg, stop, err := c.start()
				if err != nil {
					b.Fatal(err)
				}
				widgetControllerTest(b, cfg)
				if err := stop(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
