package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Resources cases name in Needs.
const (
	rConfigMaps      = "v1/configmaps"
	rPods            = "v1/pods"
	rSecrets         = "v1/secrets"
	rNamespaces      = "v1/namespaces"
	rServiceAccounts = "v1/serviceaccounts"
	rEvents          = "events.k8s.io/v1/events"
	rCoreEvents      = "v1/events"
	rRoles           = "rbac.authorization.k8s.io/v1/roles"
	rCRDs            = "apiextensions.k8s.io/v1/customresourcedefinitions"
	rLeases          = "coordination.k8s.io/v1/leases"
	rSSAR            = "authorization.k8s.io/v1/selfsubjectaccessreviews"
	rSSR             = "authentication.k8s.io/v1/selfsubjectreviews"
	rToken           = "v1/serviceaccounts/token"
)

// kubectlCase is a kubectl case run by both kubectl binaries.
type kubectlCase struct {
	name, what string
	needs      []string
	timeout    time.Duration
	run        func(ctx context.Context, e *Env, k kubectl) error
}

// kubectl runs one kubectl binary for a case.
type kubectl struct{ bin string }

func (k kubectl) run(ctx context.Context, e *Env, args ...string) (string, error) {
	return e.Exec(ctx, k.bin, args...)
}

func (k kubectl) apply(ctx context.Context, e *Env, manifest string, args ...string) (string, error) {
	return e.ExecIn(ctx, manifest, k.bin, append([]string{"apply", "-f", "-"}, args...)...)
}

// kubectlCases are kubectl's cases for the binary of client (Kubectl or KubectlSkew).
func kubectlCases(client string) []Case {
	var out []Case
	for _, kc := range kubectlCaseList {
		kc := kc
		out = append(out, Case{
			ID: client + "/" + kc.name, Client: client, What: kc.what, Needs: kc.needs, Timeout: kc.timeout,
			Run: func(ctx context.Context, e *Env) error {
				bin := e.Bin.Kubectl
				if client == KubectlSkew {
					bin = e.Bin.KubectlSkew
				}
				return kc.run(ctx, e, kubectl{bin: bin})
			},
		})
	}
	return out
}

func configMap(ns, name, labels string, data map[string]string) string {
	d, _ := json.Marshal(data)
	l := "{}"
	if labels != "" {
		kv := strings.SplitN(labels, "=", 2)
		l = fmt.Sprintf("{%q: %q}", kv[0], kv[1])
	}
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q,"labels":%s},"data":%s}`, name, ns, l, d)
}

// testCRD is a namespaced CRD with two versions (v1 stored, v2 served,
// conversion None), a scale subresource, a short name and a category. Each
// case has a group of its own (from its namespace); the short name follows
// the group, as two CRDs with one short name make kubectl pick one of them.
func testCRD(group string) string {
	schema := `{"type":"object","properties":{"spec":{"type":"object","properties":{"replicas":{"type":"integer"},"size":{"type":"string"}}},"status":{"type":"object","properties":{"replicas":{"type":"integer"}}}}}`
	version := func(name string, storage bool) string {
		return fmt.Sprintf(`{"name":%q,"served":true,"storage":%t,"schema":{"openAPIV3Schema":%s},
 "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas"}},
 "additionalPrinterColumns":[{"name":"Size","type":"string","jsonPath":".spec.size"}]}`, name, storage, schema)
	}
	return fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"widgets.%[1]s"},
 "spec":{"group":%[1]q,"scope":"Namespaced",
  "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":[%[4]q],"categories":["gcp"]},
  "versions":[%[2]s,%[3]s]}}`, group, version("v1", true), version("v2", false), shortName(group))
}

// shortName is "w" and the group's first label: "wc026" for c026.gcp.example.com.
func shortName(group string) string { return "w" + strings.SplitN(group, ".", 2)[0] }

func widget(ns, name, group, version string) string {
	return fmt.Sprintf(`{"apiVersion":"%s/%s","kind":"Widget","metadata":{"name":%q,"namespace":%q},"spec":{"replicas":1,"size":"small"}}`, group, version, name, ns)
}

// installCRD applies the test CRD with a group of the case's own and waits
// until it is established.
func (k kubectl) installCRD(ctx context.Context, e *Env) (string, error) {
	group := e.Tag + ".gcp.example.com"
	if _, err := k.apply(ctx, e, testCRD(group)); err != nil {
		return "", err
	}
	_, err := k.run(ctx, e, "wait", "--for=condition=Established", "--timeout=20s", "crd/widgets."+group)
	return group, err
}

// widgetCRD installs the test CRD (installCRD) and applies the Widget w1 of
// version v1 in the case's namespace.
func (k kubectl) widgetCRD(ctx context.Context, e *Env) (string, error) {
	group, err := k.installCRD(ctx, e)
	if err != nil {
		return "", err
	}
	_, err = k.apply(ctx, e, widget(e.Namespace, "w1", group, "v1"))
	return group, err
}

// onCRD installs the test CRD, with the Widget w1 if withWidget, and calls
// f with its group.
func (k kubectl) onCRD(ctx context.Context, e *Env, withWidget bool, f func(group string) error) error {
	install := k.installCRD
	if withWidget {
		install = k.widgetCRD
	}
	group, err := install(ctx, e)
	if err != nil {
		return err
	}
	return f(group)
}

// withChangedFile applies configmap name with a=1, writes it with a=2 to a
// file and calls f with the file's path.
func (k kubectl) withChangedFile(ctx context.Context, e *Env, name string, f func(file string) error) error {
	if _, err := k.apply(ctx, e, configMap(e.Namespace, name, "", map[string]string{"a": "1"})); err != nil {
		return err
	}
	file, err := e.WriteFile(name+".json", configMap(e.Namespace, name, "", map[string]string{"a": "2"}))
	if err != nil {
		return err
	}
	return f(file)
}

// createDescribe is a case that creates a <kind> d and describes it.
func createDescribe(kind string) func(ctx context.Context, e *Env, k kubectl) error {
	return func(ctx context.Context, e *Env, k kubectl) error {
		return k.inNS(ctx, e, []string{"create", kind, "d"}, []string{"describe", kind, "d"})
	}
}

// expect runs kubectl and checks its output holds want.
func (k kubectl) expect(ctx context.Context, e *Env, want string, args ...string) error {
	out, err := k.run(ctx, e, args...)
	if err != nil {
		return err
	}
	return expect(out, want)
}

// inNS runs each command in turn with -n <the case's namespace> appended.
func (k kubectl) inNS(ctx context.Context, e *Env, cmds ...[]string) error {
	for _, c := range cmds {
		if _, err := k.run(ctx, e, append(c, "-n", e.Namespace)...); err != nil {
			return err
		}
	}
	return nil
}

// prune applies configmaps p1 and p2, then p1 alone, with --prune -l and
// the extra flags, and checks p2 is gone.
func (k kubectl) prune(ctx context.Context, e *Env, extra ...string) error {
	flags := append([]string{"--prune", "-l", "set=prune", "-n", e.Namespace}, extra...)
	p1, p2 := configMap(e.Namespace, "p1", "set=prune", nil), configMap(e.Namespace, "p2", "set=prune", nil)
	for _, manifest := range []string{p1 + "\n" + p2, p1} {
		if _, err := k.apply(ctx, e, manifest, flags...); err != nil {
			return err
		}
	}
	if _, err := k.run(ctx, e, "get", "configmap", "p2", "-n", e.Namespace); err == nil {
		return fmt.Errorf("configmap p2 was not pruned")
	}
	return nil
}

func expect(out, want string) error {
	if !strings.Contains(out, want) {
		return fmt.Errorf("output lacks %q: %s", want, tail(out))
	}
	return nil
}

var kubectlCaseList = []kubectlCase{
	{name: "version", what: "kubectl version -o json (client and server version, skew warning)",
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.expect(ctx, e, `"serverVersion"`, "version", "-o", "json")
		}},
	{name: "cluster-info", what: "kubectl cluster-info",
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.expect(ctx, e, "is running at", "cluster-info")
		}},
	{name: "api-resources", what: "kubectl api-resources",
		run: func(ctx context.Context, e *Env, k kubectl) error { return k.expect(ctx, e, "", "api-resources") }},
	{name: "api-versions", what: "kubectl api-versions",
		run: func(ctx context.Context, e *Env, k kubectl) error { return k.expect(ctx, e, "", "api-versions") }},
	{name: "get-all", what: "kubectl get all -A (the 'all' category)",
		run: func(ctx context.Context, e *Env, k kubectl) error { return k.expect(ctx, e, "", "get", "all", "-A") }},
	{name: "get-namespaces", what: "kubectl get namespaces", needs: []string{rNamespaces},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.expect(ctx, e, e.Namespace, "get", "namespaces")
		}},
	{name: "create-get-configmap", what: "kubectl create configmap; get -o yaml; get -o wide; get -o custom-columns", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.inNS(ctx, e, []string{"create", "configmap", "cm1", "--from-literal=a=b"},
				[]string{"get", "configmap", "cm1", "-o", "yaml"}, []string{"get", "configmap", "cm1", "-o", "wide"},
				[]string{"get", "configmap", "cm1", "-o", "custom-columns=NAME:.metadata.name,A:.data.a"})
		}},
	{name: "apply-client-side", what: "kubectl apply -f (client-side, last-applied annotation), then apply a change", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			for _, v := range []string{"1", "2"} {
				if _, err := k.apply(ctx, e, configMap(e.Namespace, "csa", "", map[string]string{"a": v})); err != nil {
					return err
				}
			}
			return nil
		}},
	{name: "apply-server-side", what: "kubectl apply --server-side, a second field manager conflicts, --force-conflicts wins", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if _, err := k.apply(ctx, e, configMap(e.Namespace, "ssa", "", map[string]string{"a": "1"}), "--server-side", "--field-manager=one"); err != nil {
				return err
			}
			_, err := k.apply(ctx, e, configMap(e.Namespace, "ssa", "", map[string]string{"a": "2"}), "--server-side", "--field-manager=two")
			if err == nil || !strings.Contains(err.Error(), "conflict") {
				return fmt.Errorf("second manager: want a conflict, got %v", err)
			}
			_, err = k.apply(ctx, e, configMap(e.Namespace, "ssa", "", map[string]string{"a": "2"}), "--server-side", "--field-manager=two", "--force-conflicts")
			return err
		}},
	{name: "apply-prune", what: "kubectl apply --prune -l (default prune allowlist): apply two configmaps, then one, the other is pruned", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error { return k.prune(ctx, e) }},
	{name: "apply-prune-allowlist", what: "kubectl apply --prune -l --prune-allowlist=core/v1/ConfigMap (the explicit list)", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.prune(ctx, e, "--prune-allowlist=core/v1/ConfigMap")
		}},
	{name: "apply-prune-applyset", what: "kubectl apply --prune --applyset (KUBECTL_APPLYSET=true): the applyset parent is a Secret by default", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			two := configMap(e.Namespace, "a1", "", nil) + "\n" + configMap(e.Namespace, "a2", "", nil)
			for _, manifest := range []string{two, configMap(e.Namespace, "a1", "", nil)} {
				if _, err := execEnv(ctx, e, "KUBECTL_APPLYSET=true", manifest, k.bin, "apply", "-f", "-", "--prune", "--applyset=set1", "-n", e.Namespace); err != nil {
					return err
				}
			}
			return nil
		}},
	{name: "apply-kustomize", what: "kubectl apply -k (a kustomization with a configMapGenerator)", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if _, err := e.WriteFile("kust/kustomization.yaml", "namespace: "+e.Namespace+"\nconfigMapGenerator:\n- name: gen\n  literals: [a=b]\n"); err != nil {
				return err
			}
			return k.expect(ctx, e, "configmap/gen-", "apply", "-k", "kust")
		}},
	{name: "explain", what: "kubectl explain configmap.data (OpenAPI v3)", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.expect(ctx, e, "", "explain", "configmap.data")
		}},
	{name: "explain-crd", what: "kubectl explain <short name>.spec (a CRD's published schema)", needs: []string{rCRDs},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.onCRD(ctx, e, false, func(group string) (err error) {
				// The CRD's OpenAPI is published shortly after it is established.
				for range 20 {
					if err = k.expect(ctx, e, "replicas", "explain", shortName(group)+".spec"); err == nil {
						return nil
					}
					time.Sleep(500 * time.Millisecond)
				}
				return err
			})
		}},
	{name: "wait-jsonpath", what: "kubectl wait --for=jsonpath on a configmap, and --for=delete", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.inNS(ctx, e, []string{"create", "configmap", "w", "--from-literal=ready=yes"},
				[]string{"wait", "--for=jsonpath={.data.ready}=yes", "--timeout=10s", "configmap/w"},
				[]string{"delete", "configmap/w", "--wait=false"},
				[]string{"wait", "--for=delete", "--timeout=10s", "configmap/w"})
		}},
	{name: "auth-can-i", what: "kubectl auth can-i create configmaps; --list", needs: []string{rSSAR},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if err := k.expect(ctx, e, "yes", "auth", "can-i", "create", "configmaps", "-n", e.Namespace); err != nil {
				return err
			}
			return k.inNS(ctx, e, []string{"auth", "can-i", "--list"})
		}},
	{name: "auth-whoami", what: "kubectl auth whoami (SelfSubjectReview)", needs: []string{rSSR},
		run: func(ctx context.Context, e *Env, k kubectl) error { return k.expect(ctx, e, "", "auth", "whoami") }},
	{name: "create-token", what: "kubectl create serviceaccount; kubectl create token", needs: []string{rServiceAccounts},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if err := k.inNS(ctx, e, []string{"create", "serviceaccount", "robot"}); err != nil {
				return err
			}
			return k.expect(ctx, e, "eyJ", "create", "token", "robot", "-n", e.Namespace, "--duration=10m")
		}},
	{name: "delete-namespace", what: "kubectl create namespace with a configmap; kubectl delete namespace (waits until it is gone)", needs: []string{rNamespaces},
		timeout: 40 * time.Second,
		run: func(ctx context.Context, e *Env, k kubectl) error {
			ns := e.Namespace + "-del"
			if _, err := k.run(ctx, e, "create", "namespace", ns); err != nil {
				return err
			}
			if e.Serves(rConfigMaps) {
				if _, err := k.run(ctx, e, "create", "configmap", "x", "-n", ns); err != nil {
					return err
				}
			}
			_, err := k.run(ctx, e, "delete", "namespace", ns, "--timeout=30s")
			return err
		}},
	{name: "events", what: "kubectl events (lists core v1 events)", needs: []string{rCoreEvents},
		run: func(ctx context.Context, e *Env, k kubectl) error { return k.inNS(ctx, e, []string{"events"}) }},
	{name: "describe-configmap", what: "kubectl describe configmap (the describer also lists the object's events)", needs: []string{rConfigMaps},
		run: createDescribe("configmap")},
	{name: "describe-namespace", what: "kubectl describe namespace (the describer also reads resource quotas and limit ranges)", needs: []string{rNamespaces},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.expect(ctx, e, "", "describe", "namespace", e.Namespace)
		}},
	{name: "describe-serviceaccount", what: "kubectl describe serviceaccount (the describer also reads its secrets and events)", needs: []string{rServiceAccounts},
		run: createDescribe("serviceaccount")},
	{name: "diff", what: "kubectl diff -f (server-side dry run)", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.withChangedFile(ctx, e, "df", func(f string) error {
				out, err := k.run(ctx, e, "diff", "-f", f)
				if err != nil && !strings.Contains(err.Error(), "exit status 1") { // 1: differences found
					return err
				}
				return expect(out, "+  a: \"2\"")
			})
		}},
	{name: "patch-label-annotate", what: "kubectl patch (merge, json, strategic); label; annotate", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.inNS(ctx, e, []string{"create", "configmap", "pl"},
				[]string{"patch", "configmap", "pl", "--type=merge", "-p", `{"data":{"a":"1"}}`},
				[]string{"patch", "configmap", "pl", "--type=json", "-p", `[{"op":"add","path":"/data/b","value":"2"}]`},
				[]string{"patch", "configmap", "pl", "-p", `{"data":{"c":"3"}}`},
				[]string{"label", "configmap", "pl", "x=y"},
				[]string{"annotate", "configmap", "pl", "x=y"})
		}},
	{name: "replace-delete", what: "kubectl replace -f; kubectl delete -f; kubectl delete --all", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.withChangedFile(ctx, e, "r", func(f string) error {
				return k.inNS(ctx, e, []string{"replace", "-f", f}, []string{"delete", "-f", f}, []string{"delete", "configmaps", "--all"})
			})
		}},
	{name: "get-chunked-watch", what: "kubectl get --chunk-size=1; kubectl get --watch-only with --request-timeout", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if err := k.inNS(ctx, e, []string{"create", "configmap", "c1"}, []string{"create", "configmap", "c2"}, []string{"create", "configmap", "c3"}); err != nil {
				return err
			}
			if err := k.expect(ctx, e, "configmap/c3", "get", "configmaps", "-n", e.Namespace, "--chunk-size=1", "-o", "name"); err != nil {
				return err
			}
			err := k.inNS(ctx, e, []string{"get", "configmaps", "--watch", "--request-timeout=2s"})
			if err != nil && !strings.Contains(strings.ToLower(err.Error()), "timeout") {
				return err
			}
			return nil
		}},
	{name: "get-raw", what: "kubectl get --raw /version, /readyz?verbose, /openapi/v3",
		run: func(ctx context.Context, e *Env, k kubectl) error {
			for _, p := range []string{"/version", "/readyz?verbose", "/openapi/v3"} {
				if _, err := k.run(ctx, e, "get", "--raw", p); err != nil {
					return err
				}
			}
			return nil
		}},
	{name: "secret-rbac", what: "kubectl create secret generic; create role; create rolebinding; auth can-i --as", needs: []string{rSecrets, rRoles},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if err := k.inNS(ctx, e, []string{"create", "secret", "generic", "s", "--from-literal=k=v"},
				[]string{"create", "role", "reader", "--verb=get,list", "--resource=secrets"},
				[]string{"create", "rolebinding", "reader", "--role=reader", "--user=alice"}); err != nil {
				return err
			}
			return k.expect(ctx, e, "yes", "auth", "can-i", "list", "secrets", "--as=alice", "-n", e.Namespace)
		}},
	{name: "auth-reconcile", what: "kubectl auth reconcile -f (a Role and RoleBinding)", needs: []string{rRoles},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			f, err := e.WriteFile("rbac.json", fmt.Sprintf(`{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r","namespace":%[1]q},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]},
 {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"r","namespace":%[1]q},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"},"subjects":[{"kind":"User","name":"bob","apiGroup":"rbac.authorization.k8s.io"}]}]}`, e.Namespace))
			if err != nil {
				return err
			}
			return k.expect(ctx, e, "", "auth", "reconcile", "-f", f)
		}},
	{name: "crd-lifecycle", what: "kubectl apply a CRD, wait Established, create a CR, get it by short name and category, get -o wide (printer columns)", needs: []string{rCRDs},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.onCRD(ctx, e, true, func(group string) error {
				for _, what := range []string{shortName(group), "gcp", "widgets." + group} {
					if err := k.expect(ctx, e, "w1", "get", what, "-n", e.Namespace, "-o", "wide"); err != nil {
						return fmt.Errorf("get %s: %w", what, err)
					}
				}
				return nil
			})
		}},
	{name: "crd-scale", what: "kubectl scale on a custom resource's scale subresource", needs: []string{rCRDs},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.onCRD(ctx, e, true, func(group string) error {
				return k.inNS(ctx, e, []string{"scale", "widgets." + group + "/w1", "--replicas=3"})
			})
		}},
	{name: "crd-versions", what: "kubectl get a custom resource in its other served version (conversion None)", needs: []string{rCRDs},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.onCRD(ctx, e, true, func(group string) error {
				return k.expect(ctx, e, group+"/v2", "get", "widgets.v2."+group, "w1", "-n", e.Namespace, "-o", "jsonpath={.apiVersion}")
			})
		}},
	{name: "dry-run-server", what: "kubectl create --dry-run=server -o yaml", needs: []string{rConfigMaps},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.inNS(ctx, e, []string{"create", "configmap", "dr", "--dry-run=server", "-o", "yaml"})
		}},
	{name: "run-pod", what: "kubectl run (creates a Pod)", needs: []string{rPods},
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.inNS(ctx, e, []string{"run", "p", "--image=busybox"})
		}},
	{name: "cluster-info-dump", what: "kubectl cluster-info dump --namespaces <ns> (what bug reports ask for)",
		run: func(ctx context.Context, e *Env, k kubectl) error {
			return k.expect(ctx, e, "", "cluster-info", "dump", "--namespaces", e.Namespace, "--output-directory", "dump")
		}},
	{name: "config-get-contexts", what: "kubectl config get-contexts; config view --minify (no server)",
		run: func(ctx context.Context, e *Env, k kubectl) error {
			if err := k.expect(ctx, e, "", "config", "get-contexts"); err != nil {
				return err
			}
			return k.expect(ctx, e, "", "config", "view", "--minify")
		}},
}

// execEnv is Env.ExecIn with one more environment variable.
func execEnv(ctx context.Context, e *Env, kv, stdin, bin string, args ...string) (string, error) {
	saved := e.extraEnv
	e.extraEnv = append(append([]string(nil), saved...), kv)
	defer func() { e.extraEnv = saved }()
	return e.ExecIn(ctx, stdin, bin, args...)
}
