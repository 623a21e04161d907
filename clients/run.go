package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The clients of the matrix.
const (
	Kubectl           = "kubectl"
	KubectlSkew       = "kubectl-skew"
	ClientGo          = "client-go"
	ControllerRuntime = "controller-runtime"
	Helm              = "helm"
)

// Case is one everyday operation of one client.
type Case struct {
	ID     string // "<client>/<name>"
	Client string
	What   string // what it does, e.g. the command line
	// Timeout bounds the case (defaultTimeout if zero).
	Timeout time.Duration
	// Needs are resources ("group/version/resource", core "v1/resource")
	// without which the operation makes no sense: the case is n/a where
	// discovery does not list one of them. A case that might reveal a
	// client assumption needs nothing, so that it runs everywhere.
	Needs []string
	Run   func(ctx context.Context, e *Env) error
}

const defaultTimeout = 30 * time.Second

// Binaries are the client executables.
type Binaries struct {
	Kubectl, KubectlSkew, Helm string
}

// Target is a running server the matrix runs against.
type Target struct {
	Name       string
	Kubeconfig string
	Config     *rest.Config
}

// Env is what a case gets: the server, a namespace of its own and a
// scratch directory.
type Env struct {
	Target
	Bin Binaries
	// Namespace is a namespace made for the case where the server serves
	// namespaces, else "default".
	Namespace string
	// Tag is unique to the case ("c026"): it names the case's namespace
	// and its CRD's group.
	Tag string
	// Dir is the case's scratch directory (HOME of its client processes).
	Dir      string
	Served   map[string]bool
	Client   kubernetes.Interface
	caseID   string
	extraEnv []string
}

// Serves reports whether discovery lists the group/version/resource.
func (e *Env) Serves(gvr string) bool { return e.Served[gvr] }

// ErrNA marks a case that found, while running, that it does not apply.
var ErrNA = errors.New("not applicable")

// NotApplicable returns an error that makes the case n/a with why.
func NotApplicable(why string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNA, fmt.Sprintf(why, args...))
}

// Exec runs a client binary with the server's kubeconfig in the case's
// directory, bounded by ctx; the error quotes its output.
func (e *Env) Exec(ctx context.Context, bin string, args ...string) (string, error) {
	return e.ExecIn(ctx, "", bin, args...)
}

// ExecIn is Exec with stdin.
func (e *Env) ExecIn(ctx context.Context, stdin, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = e.Dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Kubeconfig, "HOME="+e.Dir,
		"KUBECACHEDIR="+filepath.Join(e.Dir, "kubecache"), "XDG_CACHE_HOME="+filepath.Join(e.Dir, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(e.Dir, "config"), "XDG_DATA_HOME="+filepath.Join(e.Dir, "data"),
		"HELM_NAMESPACE="+e.Namespace)
	cmd.Env = append(cmd.Env, e.extraEnv...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), fmt.Errorf("%s %s: timed out: %s", filepath.Base(bin), strings.Join(args, " "), tail(out.String()))
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, tail(out.String()))
	}
	return out.String(), nil
}

// WriteFile writes a file into the case's directory and returns its path.
func (e *Env) WriteFile(name, content string) (string, error) {
	p := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, []byte(content), 0o644)
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1500 {
		s = "…" + s[len(s)-1500:]
	}
	return s
}

// ServedResources lists what discovery serves as "group/version/resource"
// (core "v1/resource"); a partial discovery failure still returns what it got.
func ServedResources(cfg *rest.Config) (map[string]bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	_, lists, err := dc.ServerGroupsAndResources()
	out := map[string]bool{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			out[l.GroupVersion+"/"+r.Name] = true
		}
	}
	return out, err
}

// Run runs every case against the target, one after another, each in a
// namespace and directory of its own under work, and returns the results.
// progress, if set, gets one line per case.
func Run(ctx context.Context, t Target, bin Binaries, cases []Case, work string, progress func(string)) []Result {
	served, derr := ServedResources(t.Config)
	cs, err := kubernetes.NewForConfig(t.Config)
	if err != nil {
		panic(err) // only on a malformed rest.Config, which the caller built
	}
	var results []Result
	for i, c := range cases {
		start := time.Now()
		res := Result{Case: c.ID, Server: t.Name}
		if missing := missingNeeds(c.Needs, served); missing != "" {
			res.Status, res.Detail = NA, "the server does not serve "+missing
			if derr != nil {
				res.Detail += " (discovery: " + derr.Error() + ")"
			}
		} else {
			res.Status, res.Detail = runCase(ctx, t, bin, c, i, served, cs, work)
		}
		res.Seconds = time.Since(start).Seconds()
		if progress != nil {
			progress(fmt.Sprintf("%-28s %-40s %-4s %5.1fs %s", t.Name, c.ID, res.Status, res.Seconds, oneLine(res.Detail, 160)))
		}
		results = append(results, res)
	}
	return results
}

func missingNeeds(needs []string, served map[string]bool) string {
	for _, n := range needs {
		if !served[n] {
			return n
		}
	}
	return ""
}

func runCase(ctx context.Context, t Target, bin Binaries, c Case, i int, served map[string]bool, cs kubernetes.Interface, work string) (Status, string) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	e := &Env{Target: t, Bin: bin, Served: served, Client: cs, caseID: c.ID, Namespace: "default", Tag: fmt.Sprintf("c%03d", i),
		Dir: filepath.Join(work, fmt.Sprintf("%03d-%s", i, strings.ReplaceAll(c.ID, "/", "_")))}
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return Fail, err.Error()
	}
	if served["v1/namespaces"] {
		ns := e.Tag
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil {
			return Fail, "setup: create namespace " + ns + ": " + err.Error()
		}
		e.Namespace = ns
	}
	err := runGuarded(ctx, c, e)
	if !served["v1/namespaces"] {
		emptyNamespace(t.Config, e.Namespace)
	}
	switch {
	case err == nil:
		return Pass, ""
	case errors.Is(err, ErrNA):
		return NA, strings.TrimPrefix(err.Error(), ErrNA.Error()+": ")
	case ctx.Err() != nil && !strings.Contains(err.Error(), "timed out"):
		return Fail, fmt.Sprintf("timed out after %s: %v", timeout, err)
	default:
		return Fail, err.Error()
	}
}

// runGuarded runs the case and turns a panic into a failure.
func runGuarded(ctx context.Context, c Case, e *Env) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Run(ctx, e)
}

// GVR parses "group/version/resource" or "v1/resource".
func GVR(s string) schema.GroupVersionResource {
	parts := strings.Split(s, "/")
	if len(parts) == 2 {
		return schema.GroupVersionResource{Version: parts[0], Resource: parts[1]}
	}
	return schema.GroupVersionResource{Group: parts[0], Version: parts[1], Resource: parts[2]}
}

// emptyNamespace deletes everything in ns, for servers without namespaces
// where every case shares "default": the next case starts empty there too.
func emptyNamespace(cfg *rest.Config, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return
	}
	lists, _ := dc.ServerPreferredNamespacedResources()
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "deletecollection") {
				continue
			}
			_ = dyn.Resource(gv.WithResource(r.Name)).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}
	}
}
