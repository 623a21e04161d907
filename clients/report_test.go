package clients

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var strictFindings = flag.Bool("clients.strict", false, "fail if the committed report has a failure without a finding")

func sampleReport() *Report {
	return &Report{
		Clients: []string{Kubectl, Helm},
		Servers: []ServerInfo{{Name: "kube", What: "kube-apiserver", Version: "v1.37.2"}, {Name: "ours", What: "minimal"}},
		Cases:   []CaseInfo{{ID: "kubectl/get-all", Client: Kubectl, What: "kubectl get all"}, {ID: "helm/install", Client: Helm, What: "helm | install"}},
		Results: []Result{
			{Case: "kubectl/get-all", Server: "kube", Status: Pass},
			{Case: "kubectl/get-all", Server: "ours", Status: Fail, Detail: "error: the server doesn't have a resource type \"all\""},
			{Case: "helm/install", Server: "kube", Status: Pass},
			{Case: "helm/install", Server: "ours", Status: NA, Detail: "the server does not serve v1/configmaps"},
		},
	}
}

func TestExplainJoin(t *testing.T) {
	rep := sampleReport()
	fs := []Finding{
		{Case: "kubectl*/get-all", Servers: []string{"other"}, Class: MissingFeature, Why: "wrong server"},
		{Case: "kubectl*/get-all", Match: "resource type", Class: ClientAssumption, ClientLine: "k8s.io/kubectl@v0.37.2/pkg/x.go:1", Why: "all is a category"},
	}
	f := Explain(fs, rep.Results[1])
	if f == nil || f.Class != ClientAssumption {
		t.Fatalf("Explain = %+v, want the second finding", f)
	}
	if got := UnclassifiedFailures(rep, fs); len(got) != 0 {
		t.Errorf("unclassified = %v", got)
	}
	if got := UnclassifiedFailures(rep, fs[:1]); len(got) != 1 || got[0] != "kubectl/get-all on ours" {
		t.Errorf("unclassified without the finding = %v", got)
	}
}

func TestMarkdown(t *testing.T) {
	rep := sampleReport()
	fs := []Finding{{Case: "kubectl/get-all", Class: ClientAssumption, ClientLine: "k8s.io/kubectl@v0.37.2/pkg/x.go:1", Why: "all is a category", Fix: "ask discovery"}}
	md := Markdown(rep, fs)
	for _, want := range []string{
		"2 cases x 2 servers, 2 clients (kubectl, helm): 2 pass, 1 fail, 1 n/a",
		"| `kubectl/get-all` | kubectl | ✅ | ❌ client assumption |",
		"| `helm/install` | helm | ✅ | – |",
		"client line: `k8s.io/kubectl@v0.37.2/pkg/x.go:1`",
		"fix: ask discovery",
		"- `helm/install`: ours: the server does not serve v1/configmaps",
		"helm \\| install", // a | in a cell is escaped
		"| kubectl | 1 | 1 | 1 | 0 |",
		"| helm | 1 | 1 | 0 | 1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if md2 := Markdown(rep, nil); !strings.Contains(md2, "❌ unclassified") || !strings.Contains(md2, "### unclassified") {
		t.Errorf("a failure without a finding is not shown as unclassified:\n%s", md2)
	}
}

func TestLoadFindingsRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"class":   "- case: a/b\n  class: bug\n  why: x\n",
		"line":    "- case: a/b\n  class: client assumption\n  why: x\n",
		"unknown": "- case: a/b\n  class: environment\n  why: x\n  typo: y\n",
	} {
		f := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFindings(f); err == nil {
			t.Errorf("%s: LoadFindings accepted %q", name, body)
		}
	}
}

// TestCommittedReport checks the committed findings load, that every case
// ID is unique, and, with -clients.strict, that the committed report has no
// failure without a finding.
func TestCommittedReport(t *testing.T) {
	fs, err := LoadFindings("findings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range AllCases() {
		if seen[c.ID] {
			t.Errorf("case %s defined twice", c.ID)
		}
		seen[c.ID] = true
	}
	b, err := os.ReadFile(filepath.Join("..", "analysis", "reports", "clients.json"))
	if os.IsNotExist(err) {
		t.Skip("no analysis/reports/clients.json: run make clients")
	}
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{}
	if err := jsonUnmarshal(string(b), rep); err != nil {
		t.Fatal(err)
	}
	if un := UnclassifiedFailures(rep, fs); len(un) > 0 && *strictFindings {
		t.Errorf("failures without a finding in clients/findings.yaml: %s", strings.Join(un, "; "))
	}
}
