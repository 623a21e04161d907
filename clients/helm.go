package clients

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// helmChart writes a chart into the case's directory and returns its path.
// Its templates hold a ConfigMap (unless crdOnly), crds/ the test CRD and
// a Widget when withCRD, and Chart.yaml the kubeVersion constraint if set.
func helmChart(e *Env, name, kubeVersion string, withCRD, crdOnly bool) (string, error) {
	dir := filepath.Join("charts", name)
	chart := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: 0.1.0\nappVersion: \"1.0\"\n", name)
	if kubeVersion != "" {
		chart += fmt.Sprintf("kubeVersion: %q\n", kubeVersion)
	}
	files := map[string]string{
		"Chart.yaml":  chart,
		"values.yaml": "greeting: hello\n",
	}
	if !crdOnly {
		files["templates/configmap.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
	}
	if withCRD {
		group := e.Tag + ".gcp.example.com"
		files["crds/widgets.json"] = testCRD(group)
		files["templates/widget.yaml"] = widget(e.Namespace, "{{ .Release.Name }}-w", group, "v1") + "\n"
	}
	for f, content := range files {
		if _, err := e.WriteFile(filepath.Join(dir, f), content); err != nil {
			return "", err
		}
	}
	return filepath.Join(e.Dir, dir), nil
}

func helmCases() []Case {
	h := func(name, what string, needs []string, run func(ctx context.Context, e *Env, helm func(args ...string) (string, error)) error) Case {
		return Case{ID: Helm + "/" + name, Client: Helm, What: what, Needs: needs, Timeout: 60 * time.Second,
			Run: func(ctx context.Context, e *Env) error {
				return run(ctx, e, func(args ...string) (string, error) { return e.Exec(ctx, e.Bin.Helm, args...) })
			}}
	}
	install := func(e *Env, helm func(args ...string) (string, error), extra ...string) error {
		chart, err := helmChart(e, "app", "", false, false)
		if err != nil {
			return err
		}
		_, err = helm(append([]string{"install", "rel", chart}, extra...)...)
		return err
	}
	return []Case{
		h("install", "helm install a chart (a ConfigMap); helm list; helm status", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				if err := install(e, helm); err != nil {
					return err
				}
				out, err := helm("list")
				if err != nil {
					return err
				}
				if err := expect(out, "deployed"); err != nil {
					return err
				}
				_, err = helm("status", "rel")
				return err
			}),
		h("upgrade", "helm install; helm upgrade --set; helm get values", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				if err := install(e, helm); err != nil {
					return err
				}
				chart := filepath.Join(e.Dir, "charts", "app")
				if _, err := helm("upgrade", "rel", chart, "--set", "greeting=bye"); err != nil {
					return err
				}
				out, err := helm("get", "values", "rel")
				if err != nil {
					return err
				}
				return expect(out, "bye")
			}),
		h("rollback", "helm install; upgrade; rollback to 1; history", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				if err := install(e, helm); err != nil {
					return err
				}
				chart := filepath.Join(e.Dir, "charts", "app")
				if _, err := helm("upgrade", "rel", chart, "--set", "greeting=bye"); err != nil {
					return err
				}
				if _, err := helm("rollback", "rel", "1"); err != nil {
					return err
				}
				out, err := helm("history", "rel")
				if err != nil {
					return err
				}
				return expect(out, "Rollback to 1")
			}),
		h("uninstall", "helm install; helm uninstall --wait", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				if err := install(e, helm); err != nil {
					return err
				}
				_, err := helm("uninstall", "rel", "--wait", "--timeout=20s")
				return err
			}),
		h("install-wait", "helm install --wait --timeout 20s (readiness of what it installed)", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				return install(e, helm, "--wait", "--timeout=20s")
			}),
		h("kubeversion", "helm install of a chart with kubeVersion: \">=1.30.0-0\" (checked against the server's /version)", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				chart, err := helmChart(e, "kv", ">=1.30.0-0", false, false)
				if err != nil {
					return err
				}
				_, err = helm("install", "kv", chart)
				return err
			}),
		h("crds-chart", "helm install of a chart with only a CRD (crds/) and a custom resource (templates/)", []string{rCRDs},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				chart, err := helmChart(e, "crd", "", true, true)
				if err != nil {
					return err
				}
				if _, err := helm("install", "crd", chart); err != nil {
					return err
				}
				_, err = helm("uninstall", "crd")
				return err
			}),
		h("crds-chart-configmap-driver", "as crds-chart with HELM_DRIVER=configmap", []string{rCRDs},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				chart, err := helmChart(e, "crd", "", true, true)
				if err != nil {
					return err
				}
				_, err = execEnv(ctx, e, "HELM_DRIVER=configmap", "", e.Bin.Helm, "install", "crd", chart)
				return err
			}),
		h("template-validate", "helm template --validate (renders and checks kinds against the server's discovery)", []string{rConfigMaps},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				chart, err := helmChart(e, "app", "", false, false)
				if err != nil {
					return err
				}
				out, err := helm("template", "rel", chart, "--validate")
				if err != nil {
					return err
				}
				if !strings.Contains(out, "kind: ConfigMap") {
					return fmt.Errorf("no ConfigMap rendered: %s", tail(out))
				}
				return nil
			}),
		h("create-namespace", "helm install --create-namespace into a new namespace", []string{rConfigMaps, rNamespaces},
			func(ctx context.Context, e *Env, helm func(...string) (string, error)) error {
				return install(e, helm, "--create-namespace", "-n", e.Namespace+"-helm")
			}),
	}
}

// AllCases are the matrix's cases in report order.
func AllCases() []Case {
	var out []Case
	out = append(out, kubectlCases(Kubectl)...)
	out = append(out, kubectlCases(KubectlSkew)...)
	out = append(out, clientGoCases()...)
	out = append(out, ctrlRuntimeCases()...)
	out = append(out, helmCases()...)
	return out
}
