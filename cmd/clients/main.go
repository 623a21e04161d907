// clients runs the client-assumption matrix (package clients): every case of
// every client against kube-apiserver, the upstream generic sample and this
// project's servers, one server at a time, each with fresh data on
// loopback, and writes the report as JSON and Markdown (rendered from the
// JSON, with the reviewed findings joined in).
//
//	make clients                       # builds everything, then runs this
//	clients -bin _output/bin/clients -work _output/clients -findings clients/findings.yaml \
//	    -json analysis/reports/clients.json -md analysis/reports/clients.md
//	clients -render -findings clients/findings.yaml -json ... -md ...   # re-render only
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/generic-controlplane/gcp/clients"
	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/scenario/upstream"
	"github.com/generic-controlplane/gcp/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// serverSpec is one server of the matrix.
type serverSpec struct {
	name, what string
	start      func(ctx context.Context, bin, dir string) (kubeconfig string, stop func(), err error)
}

func upstreamServer(kind, binary string) func(ctx context.Context, bin, dir string) (string, func(), error) {
	return func(ctx context.Context, bin, dir string) (string, func(), error) {
		s, err := upstream.Start(ctx, kind, filepath.Join(bin, binary), filepath.Join(bin, "bench-etcd"), dir)
		if err != nil {
			return "", nil, err
		}
		return s.Kubeconfig, s.Stop, nil
	}
}

func ourServer(binary string, args ...string) func(ctx context.Context, bin, dir string) (string, func(), error) {
	return func(ctx context.Context, bin, dir string) (string, func(), error) {
		s, err := serverproc.StartMinimal(ctx, serverproc.Minimal{Binary: filepath.Join(bin, binary), DataDir: dir, Args: args})
		if err != nil {
			return "", nil, err
		}
		return s.Kubeconfig, s.Stop, nil
	}
}

// withoutNamespaces is minimal-apiserver's default API selection less
// namespaces and the entries the server refuses without them (rbac and
// admissionregistration: server/apis.go's requires).
func withoutNamespaces() string {
	var apis []string
	for _, a := range server.DefaultAPIs {
		if a != "namespaces" && a != "rbac" && a != "admissionregistration" {
			apis = append(apis, a)
		}
	}
	return strings.Join(apis, ",")
}

var servers = []serverSpec{
	{"kube-apiserver", "k8s.io/kubernetes cmd/kube-apiserver on etcd (bench-etcd), no kube-controller-manager", upstreamServer(upstream.KubeAPIServer, "kube-apiserver")},
	{"generic-sample", "the upstream generic control plane sample (pkg/controlplane/apiserver/samples/generic) on etcd", upstreamServer(upstream.GenericSample, "sample-generic-apiserver")},
	{"minimal", "our generic server, cmd/minimal-apiserver (embedded etcd, default APIs)", ourServer("minimal-apiserver")},
	{"minimal-unstamped", "cmd/minimal-apiserver built with a plain go build (no version -ldflags)", ourServer("minimal-apiserver-unstamped")},
	{"crd-only", "our CRD-only server, cmd/examples/crdonly", ourServer("example-crdonly")},
	{"no-namespaces", "cmd/minimal-apiserver --apis=<defaults without namespaces, rbac, admissionregistration>", ourServer("minimal-apiserver", "--apis="+withoutNamespaces())},
}

func main() {
	bin := flag.String("bin", "_output/bin/clients", "directory of the servers (kube-apiserver, sample-generic-apiserver, bench-etcd, minimal-apiserver, minimal-apiserver-unstamped, example-crdonly) and clients (kubectl, kubectl-skew, helm)")
	work := flag.String("work", "_output/clients", "scratch directory: server data and each case's files")
	findings := flag.String("findings", "clients/findings.yaml", "reviewed findings joined into the report")
	jsonOut := flag.String("json", "analysis/reports/clients.json", "JSON report")
	mdOut := flag.String("md", "analysis/reports/clients.md", "Markdown report, rendered from the JSON")
	render := flag.Bool("render", false, "only render -md from -json and -findings; run nothing")
	strict := flag.Bool("strict", false, "exit 1 if a failure has no finding")
	onlyServer := flag.String("only-server", "", "comma-separated servers to run (default all)")
	onlyCase := flag.String("only-case", "", "run only cases whose id contains this")
	header := flag.String("header", "", "a paragraph under the report's title: what was run (with -render, replaces the JSON's)")
	flag.Parse()

	fs, err := clients.LoadFindings(*findings)
	if err != nil {
		fail(err)
	}
	var rep *clients.Report
	if *render {
		b, err := os.ReadFile(*jsonOut)
		if err != nil {
			fail(err)
		}
		rep = &clients.Report{}
		if err := json.Unmarshal(b, rep); err != nil {
			fail(fmt.Errorf("%s: %w", *jsonOut, err))
		}
	} else {
		rep = run(*bin, *work, *onlyServer, *onlyCase)
	}
	if *header != "" || !*render {
		rep.Header = *header
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.MkdirAll(filepath.Dir(*jsonOut), 0o755); err != nil {
			fail(err)
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
	if err := os.WriteFile(*mdOut, []byte(clients.Markdown(rep, fs)), 0o644); err != nil {
		fail(err)
	}
	c := rep.Counts()
	un := clients.UnclassifiedFailures(rep, fs)
	fmt.Printf("wrote %s and %s: %d cases x %d servers: %d pass, %d fail (%d unclassified), %d n/a\n",
		*mdOut, *jsonOut, len(rep.Cases), len(rep.Servers), c[clients.Pass], c[clients.Fail], len(un), c[clients.NA])
	for _, u := range un {
		fmt.Println("  unclassified:", u)
	}
	if *strict && len(un) > 0 {
		os.Exit(1)
	}
}

func run(bin, work, onlyServer, onlyCase string) *clients.Report {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			fail(err)
		}
		return a
	}
	bin, work = abs(bin), abs(work)
	bins := clients.Binaries{Kubectl: filepath.Join(bin, "kubectl"), KubectlSkew: filepath.Join(bin, "kubectl-skew"), Helm: filepath.Join(bin, "helm")}
	var cases []clients.Case
	for _, c := range clients.AllCases() {
		if strings.Contains(c.ID, onlyCase) {
			cases = append(cases, c)
		}
	}
	rep := &clients.Report{Clients: []string{clients.Kubectl, clients.KubectlSkew, clients.ClientGo, clients.ControllerRuntime, clients.Helm}}
	for _, c := range cases {
		rep.Cases = append(rep.Cases, clients.CaseInfo{ID: c.ID, Client: c.Client, What: c.What})
	}
	start := time.Now()
	for _, s := range servers {
		if onlyServer != "" && !contains(strings.Split(onlyServer, ","), s.name) {
			continue
		}
		info := clients.ServerInfo{Name: s.name, What: s.what}
		dir := filepath.Join(work, s.name)
		_ = os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		fmt.Fprintf(os.Stderr, "[clients] starting %s\n", s.name)
		kubeconfig, stop, err := s.start(ctx, bin, filepath.Join(dir, "server"))
		if err != nil {
			info.Error = err.Error()
			rep.Servers = append(rep.Servers, info)
			for _, c := range cases {
				rep.Results = append(rep.Results, clients.Result{Case: c.ID, Server: s.name, Status: clients.NA, Detail: "server did not start"})
			}
			cancel()
			continue
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			fail(err)
		}
		cfg.QPS, cfg.Burst = 1000, 1000
		if cs, err := kubernetes.NewForConfig(cfg); err == nil {
			if v, err := cs.Discovery().ServerVersion(); err == nil {
				info.Version = v.GitVersion
			} else {
				info.Version = "error: " + err.Error()
			}
		}
		rep.Servers = append(rep.Servers, info)
		t := clients.Target{Name: s.name, Kubeconfig: kubeconfig, Config: cfg}
		rep.Results = append(rep.Results, clients.Run(ctx, t, bins, cases, filepath.Join(dir, "cases"),
			func(line string) { fmt.Fprintln(os.Stderr, "[clients]", line) })...)
		stop()
		cancel()
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "clients:", err)
	os.Exit(2)
}
