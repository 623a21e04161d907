package prove

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/scenario"
)

// LibraryExamplePackage is the control plane a user writes on the generic
// server library of the series (cmd/examples/library): the generic core
// resources, RBAC, CRDs, an inline admission plugin, a middleware and this
// repository's SQLite backend. It builds against the tip like the native
// sample.
const LibraryExamplePackage = "github.com/generic-controlplane/gcp/cmd/examples/library"

// LibraryExample names it in the report.
const LibraryExample = "user example on the sample library (cmd/examples/library)"

// libraryExampleNeeds are resources the example must serve; it may serve
// only the minimal sample's group versions.
var libraryExampleNeeds = minimalSampleNeeds

// checkLibraryExample checks what the example promises, through client-go:
// only the groups it picked; its admission plugin refuses an object
// labelled deny=true and admits others; its middleware marks every
// response; its objects are in the SQLite file, none in the etcd the server
// was also given.
func checkLibraryExample(ctx context.Context, srv *serverproc.Server, dbPath, etcdEndpoint string) error {
	client, err := servedOnlyClient(srv, minimalSampleGroupVersions, libraryExampleNeeds)
	if err != nil {
		return err
	}
	denied := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "denied", Labels: map[string]string{"deny": "true"}}}
	_, err = client.CoreV1().ConfigMaps("default").Create(ctx, denied, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "labelled deny=true are refused") {
		return fmt.Errorf("creating a ConfigMap labelled deny=true: got %v, want 403 from the inline admission plugin DenyLabel (\"objects labelled deny=true are refused\")", err)
	}
	admitted := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "admitted"}, Data: map[string]string{"k": "v"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, admitted, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a ConfigMap without the label: %w", err)
	}
	if err := checkServedBy(ctx, srv.RESTConfig(), "/api/v1/namespaces/default/configmaps/admitted", "library"); err != nil {
		return err
	}
	if info, err := os.Stat(dbPath); err != nil || info.Size() == 0 {
		return fmt.Errorf("the SQLite file %s is missing or empty (%v)", dbPath, err)
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdEndpoint}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer c.Close()
	keys, err := etcdKeys(ctx, c, "/registry")
	if err != nil {
		return fmt.Errorf("reading etcd: %w", err)
	}
	if len(keys) > 0 {
		return fmt.Errorf("%d objects are in etcd, not in the SQLite backend (first: %s)", len(keys), keys[0])
	}
	return nil
}

// checkServedBy GETs path and wants the X-Served-By header the example's
// middleware sets.
func checkServedBy(ctx context.Context, cfg *rest.Config, path, want string) error {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Served-By"); resp.StatusCode != http.StatusOK || got != want {
		return fmt.Errorf("GET %s: status %d, X-Served-By %q, want 200 and %q from the middleware", path, resp.StatusCode, got, want)
	}
	return nil
}

// libraryAPIFile holds, from the patch that adds inline admission plugins to
// the sample library on, the API the example uses, relative to the tree.
const libraryAPIFile = "pkg/controlplane/apiserver/samples/generic/server/admission.go"

// hasLibraryAPI reports whether the tree's sample library takes inline
// admission plugins (a proof cut short with --upto may end before).
func hasLibraryAPI(tree string) bool {
	b, err := os.ReadFile(filepath.Join(tree, libraryAPIFile))
	return err == nil && strings.Contains(string(b), "func RegisterAdmissionPlugins(")
}

// libraryExample runs the example built beside the native sample: its own
// checks, then the whole scenario, where its plugin and middleware are the
// inline-admission and middleware steps (the sample has neither). Those two
// must pass, and every step that passes on the same prefix's sample on etcd
// must pass on it too.
func (r *runner) libraryExample(ctx context.Context, s *Step, binaries map[string]string, binary string) {
	dir := filepath.Join(r.cfg.Work, "run", fmt.Sprint(s.Index), "library")
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "objects.db")
	var check error
	scenarioArgs, runScenario := r.sampleScenario(ctx, binaries, scenarioRun{server: LibraryExample,
		record: func(res *ScenarioResult) { s.LibraryScenario = res },
		tune: func(t *scenario.Target) {
			t.Name, t.AdmissionDeniedLabel, t.MiddlewareHeader = "library-example", "deny=true", "X-Served-By"
		}})
	args := append([]string{"--sqlite-db=" + db}, scenarioArgs...)
	rt, _ := r.runOne(ctx, dir, binary, args, false, func(srv *serverproc.Server, dir, etcd string) {
		// before the scenario, whose aggregated backend writes to etcd
		if check = checkLibraryExample(ctx, srv, db, etcd); check == nil {
			runScenario(srv, dir, etcd)
		}
	})
	if rt.Error == "" && check != nil {
		rt.Error = check.Error()
	}
	s.LibraryExample = rt
	if rt.Error != "" {
		r.problem(s, "library example: %s", rt.Error)
	}
	for _, p := range libraryScenarioProblems(s.Scenario, s.LibraryScenario) {
		r.problem(s, "library example: %s", p)
	}
}

// libraryOwnSteps are the scenario steps the library example passes with
// its own parts, which the sample has not.
var libraryOwnSteps = []string{"inline-admission", "middleware"}

// libraryScenarioProblems judges the scenario on the library example
// against the scenario on the same prefix's sample on etcd (nil when it did
// not run): libraryOwnSteps must pass, and no step may pass on the sample
// and not on the example.
func libraryScenarioProblems(sample, library *ScenarioResult) []string {
	if library == nil {
		return nil
	}
	var problems []string
	for _, x := range library.Results {
		if slices.Contains(libraryOwnSteps, x.Step) && x.Status != scenario.Pass {
			problems = append(problems, fmt.Sprintf("scenario step %q: %s (%s)", x.Step, x.Status, shortReason(x.Reason)))
		}
	}
	if sample != nil {
		for _, step := range regressedSteps(sample, library) {
			problems = append(problems, fmt.Sprintf("scenario step %q passes on the sample on etcd and not on the library example", step))
		}
	}
	return problems
}
