// Package buildversion makes a server built with plain go build (no
// -ldflags stamps) answer /version with the Kubernetes release it was built
// from, so that kubectl version can parse it. It links nothing of k/k.
package buildversion

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	utilversion "k8s.io/apimachinery/pkg/util/version"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	basecompatibility "k8s.io/component-base/compatibility"
)

// unstampedGitVersion is what k8s.io/component-base/version reports when the
// binary was built without the -ldflags -X stamps of the Kubernetes build
// (go build, go run, go test). kubectl version cannot parse it.
const unstampedGitVersion = "v0.0.0-master+$Format:%H$"

// kubeVersion is the Kubernetes version an unstamped binary was built from:
// the version of the k8s.io/kubernetes module in the build info or, failing
// that, of k8s.io/apiserver (v0.X.Y is Kubernetes v1.X.Y), else the binary
// version compiled into component-base (vMAJOR.MINOR.0), which is all a
// build against a local k/k tree (a replace without version) has.
func kubeVersion(build *debug.BuildInfo, fallback *utilversion.Version) string {
	if build != nil {
		modules := map[string]string{}
		for _, m := range build.Deps {
			if m.Replace != nil {
				m = m.Replace
			}
			modules[m.Path] = m.Version
		}
		if v := modules["k8s.io/kubernetes"]; isRelease(v) {
			return v
		}
		if v := modules["k8s.io/apiserver"]; isRelease(v) && strings.HasPrefix(v, "v0.") {
			return "v1." + strings.TrimPrefix(v, "v0.")
		}
	}
	return fmt.Sprintf("v%d.%d.0", fallback.Major(), fallback.Minor())
}

// isRelease reports whether a module version is a tagged version: a local
// replacement has no version and a pseudo-version names a commit, not a
// Kubernetes release.
func isRelease(v string) bool {
	_, err := utilversion.ParseSemantic(v)
	return err == nil && !pseudoVersion.MatchString(v)
}

// pseudoVersion matches the tail of a Go pseudo-version, e.g.
// v0.0.0-20240102150405-abcdef123456.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// reportedVersion is the upstream effective version with the /version answer
// corrected: Info() takes GitVersion from component-base's build stamps, which
// an ordinary go build leaves at unstampedGitVersion.
type reportedVersion struct {
	basecompatibility.EffectiveVersion
	info *apimachineryversion.Info
}

func (v reportedVersion) Info() *apimachineryversion.Info {
	info := *v.info
	return &info
}

// Apply returns ev answering /version with the Kubernetes version
// the binary was built from (Major and Minor from that version, the rest as
// upstream reports it). A binary stamped with -ldflags keeps its stamp.
func Apply(ev basecompatibility.EffectiveVersion) basecompatibility.EffectiveVersion {
	info := ev.Info()
	if info == nil || info.GitVersion != unstampedGitVersion {
		return ev
	}
	build, _ := debug.ReadBuildInfo()
	gitVersion := kubeVersion(build, ev.BinaryVersion())
	parsed, err := utilversion.ParseSemantic(gitVersion)
	if err != nil {
		return ev
	}
	fixed := *info
	fixed.GitVersion = gitVersion
	fixed.Major, fixed.Minor = fmt.Sprint(parsed.Major()), fmt.Sprint(parsed.Minor())
	if fixed.GitCommit == "$Format:%H$" {
		fixed.GitCommit = ""
	}
	return reportedVersion{EffectiveVersion: ev, info: &fixed}
}
