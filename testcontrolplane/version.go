package testcontrolplane

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
)

// serverVersion is what /version reports. A test binary is not stamped
// with -ldflags as a Kubernetes release is, so component-base says
// v0.0.0-master+$Format:%H$, which kubectl version and clients that check
// the server version cannot parse. The staging module this package runs
// on says which Kubernetes it is: k8s.io/apiserver v0.X.Y is v1.X.Y. Where
// the build info lacks it (go test binaries), the binary version compiled
// into component-base gives vMAJOR.MINOR.0.
func serverVersion(base apimachineryversion.Info, binary *utilversion.Version) apimachineryversion.Info {
	base.Major, base.Minor = fmt.Sprint(binary.Major()), fmt.Sprint(binary.Minor())
	base.GitVersion = fmt.Sprintf("v%d.%d.0", binary.Major(), binary.Minor())
	base.GitTreeState = "clean"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return base
	}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		if m.Path != "k8s.io/apiserver" || !strings.HasPrefix(m.Version, "v0.") {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(m.Version, "v0."), ".", 2)
		if len(parts) != 2 || strings.ContainsAny(parts[1], "-+") {
			return base // a pseudo-version says nothing about the release
		}
		base.GitVersion = "v1." + parts[0] + "." + parts[1]
	}
	return base
}

// withFixedPaths answers /version with v, and /api (the legacy core
// group's discovery, which only kube-apiserver serves) with no versions
// instead of 404: client-go's discovery tolerates an empty core group, but
// controller-runtime's RESTMapper fails the manager's start on the 404.
// Everything else passes on.
func withFixedPaths(v apimachineryversion.Info, next http.Handler) http.Handler {
	version, _ := json.Marshal(v)
	legacy, _ := json.Marshal(metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		switch {
		case r.Method != http.MethodGet:
		case r.URL.Path == "/version":
			body = version
		case r.URL.Path == "/api" || r.URL.Path == "/api/":
			body = legacy
		}
		if body == nil {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}
