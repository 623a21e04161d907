// Package pin reads patches/BASE, the single place that names the Kubernetes
// release the patch series is carried on.
package pin

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// KubernetesModule is the module path of the k/k root module.
const KubernetesModule = "k8s.io/kubernetes"

var releaseRE = regexp.MustCompile(`^v1\.(\d+)\.(\d+)$`)

// Pin is a Kubernetes release: k8s.io/kubernetes vX.Y.Z and its staging
// modules at v0.Y.Z, the versioning the publishing bot uses.
type Pin struct {
	// Kubernetes is the k8s.io/kubernetes version, e.g. "v1.37.2". It is also
	// the tag of the baseline commit in a materialized tree, as in a real
	// k/k checkout.
	Kubernetes string
}

// Parse validates a release name such as "v1.37.2".
func Parse(version string) (Pin, error) {
	if !releaseRE.MatchString(version) {
		return Pin{}, fmt.Errorf("pin %q: want a Kubernetes release such as v1.37.2 (pre-releases are not supported)", version)
	}
	return Pin{Kubernetes: version}, nil
}

// Staging returns the version of the staging modules (k8s.io/api, ...) that
// belong to this release: v1.37.2 -> v0.37.2.
func (p Pin) Staging() string {
	return "v0." + strings.TrimPrefix(p.Kubernetes, "v1.")
}

// Tag is the git tag of the baseline commit.
func (p Pin) Tag() string { return p.Kubernetes }

func (p Pin) String() string { return KubernetesModule + " " + p.Kubernetes }

// ReadFile reads a BASE file: comment lines (#) and blank lines are ignored,
// and exactly one line "k8s.io/kubernetes vX.Y.Z" must remain.
func ReadFile(path string) (Pin, error) {
	f, err := os.Open(path)
	if err != nil {
		return Pin{}, fmt.Errorf("reading pin: %w", err)
	}
	defer f.Close()
	var found []Pin
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 || fields[0] != KubernetesModule {
			return Pin{}, fmt.Errorf("%s:%d: want %q, got %q", path, n, KubernetesModule+" vX.Y.Z", line)
		}
		p, err := Parse(fields[1])
		if err != nil {
			return Pin{}, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		found = append(found, p)
	}
	if err := sc.Err(); err != nil {
		return Pin{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(found) != 1 {
		return Pin{}, fmt.Errorf("%s: want exactly one %q line, found %d", path, KubernetesModule+" vX.Y.Z", len(found))
	}
	return found[0], nil
}
