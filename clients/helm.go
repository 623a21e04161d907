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

// chartSpec says which chart helmChart writes for a case.
type chartSpec struct {
	name, kubeVersion string
	withCRD, crdOnly  bool
}

// helmStep is one helm command; "CHART" and "NAMESPACE" in args stand for the case's
// chart and namespace. want, if set, must be in its output; env is one more environment
// variable.
type helmStep struct {
	args      []string
	want, env string
}

func step(args ...string) helmStep { return helmStep{args: args} }

func helmCases() []Case {
	app := chartSpec{name: "app"}
	crdChart := chartSpec{name: "crd", withCRD: true, crdOnly: true}
	h := func(name, what string, needs []string, chart chartSpec, steps ...helmStep) Case {
		return Case{ID: Helm + "/" + name, Client: Helm, What: what, Needs: needs, Timeout: 60 * time.Second,
			Run: func(ctx context.Context, e *Env) error {
				path, err := helmChart(e, chart.name, chart.kubeVersion, chart.withCRD, chart.crdOnly)
				if err != nil {
					return err
				}
				for _, st := range steps {
					args := make([]string, len(st.args))
					for i, a := range st.args {
						args[i] = strings.NewReplacer("CHART", path, "NAMESPACE", e.Namespace).Replace(a)
					}
					var out string
					if st.env != "" {
						out, err = execEnv(ctx, e, st.env, "", e.Bin.Helm, args...)
					} else {
						out, err = e.Exec(ctx, e.Bin.Helm, args...)
					}
					if err != nil {
						return err
					}
					if err := expect(out, st.want); err != nil {
						return fmt.Errorf("helm %s: %w", strings.Join(args, " "), err)
					}
				}
				return nil
			}}
	}
	install := step("install", "rel", "CHART")
	upgrade := step("upgrade", "rel", "CHART", "--set", "greeting=bye")
	return []Case{
		h("install", "helm install a chart (a ConfigMap); helm list; helm status", []string{rConfigMaps}, app,
			install, helmStep{args: []string{"list"}, want: "deployed"}, step("status", "rel")),
		h("upgrade", "helm install; helm upgrade --set; helm get values", []string{rConfigMaps}, app,
			install, upgrade, helmStep{args: []string{"get", "values", "rel"}, want: "bye"}),
		h("rollback", "helm install; upgrade; rollback to 1; history", []string{rConfigMaps}, app,
			install, upgrade, step("rollback", "rel", "1"), helmStep{args: []string{"history", "rel"}, want: "Rollback to 1"}),
		h("uninstall", "helm install; helm uninstall --wait", []string{rConfigMaps}, app,
			install, step("uninstall", "rel", "--wait", "--timeout=20s")),
		h("install-wait", "helm install --wait --timeout 20s (readiness of what it installed)", []string{rConfigMaps}, app,
			step("install", "rel", "CHART", "--wait", "--timeout=20s")),
		h("kubeversion", "helm install of a chart with kubeVersion: \">=1.30.0-0\" (checked against the server's /version)", []string{rConfigMaps},
			chartSpec{name: "kv", kubeVersion: ">=1.30.0-0"}, step("install", "kv", "CHART")),
		h("crds-chart", "helm install of a chart with only a CRD (crds/) and a custom resource (templates/); uninstall", []string{rCRDs}, crdChart,
			step("install", "crd", "CHART"), step("uninstall", "crd")),
		h("crds-chart-configmap-driver", "as crds-chart with HELM_DRIVER=configmap", []string{rCRDs}, crdChart,
			helmStep{args: []string{"install", "crd", "CHART"}, env: "HELM_DRIVER=configmap"}),
		h("template-validate", "helm template --validate (renders and checks kinds against the server's discovery)", []string{rConfigMaps}, app,
			helmStep{args: []string{"template", "rel", "CHART", "--validate"}, want: "kind: ConfigMap"}),
		h("create-namespace", "helm install --create-namespace into a new namespace", []string{rConfigMaps, rNamespaces}, app,
			step("install", "rel", "CHART", "--create-namespace", "-n", "NAMESPACE-helm")),
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
