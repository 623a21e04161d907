package clients

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Status is the outcome of one case on one server.
type Status string

// The outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	NA   Status = "n/a"
)

// Classes of a failure.
const (
	ServerDefect     = "server defect"
	MissingFeature   = "missing generic feature"
	ClientAssumption = "client assumption"
	EnvironmentLimit = "environment"
	Unclassified     = "unclassified"
)

// Result is one case on one server.
type Result struct {
	Case    string  `json:"case"`
	Server  string  `json:"server"`
	Status  Status  `json:"status"`
	Detail  string  `json:"detail,omitempty"` // error text of a failure, why for n/a
	Seconds float64 `json:"seconds"`
}

// CaseInfo describes a case in the report.
type CaseInfo struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	What   string `json:"what"`
}

// ServerInfo describes a server in the report.
type ServerInfo struct {
	Name    string `json:"name"`
	What    string `json:"what"`
	Version string `json:"version,omitempty"` // gitVersion its /version answered
	// Error is set when the server did not start: its cases are then n/a.
	Error string `json:"error,omitempty"`
}

// Report is what a run writes as JSON; the Markdown is rendered from it.
type Report struct {
	Header  string       `json:"header,omitempty"`
	Seconds float64      `json:"seconds"`
	Clients []string     `json:"clients"`
	Servers []ServerInfo `json:"servers"`
	Cases   []CaseInfo   `json:"cases"`
	Results []Result     `json:"results"`
}

// Finding explains the failures of one case on some servers.
type Finding struct {
	Case string `json:"case"`
	// Servers are the servers it applies to; empty means all.
	Servers []string `json:"servers,omitempty"`
	// Match, if set, must be a substring of the failure's error text.
	Match string `json:"match,omitempty"`
	Class string `json:"class"`
	// ClientLine is the file:line in the client library, module@version/path:line.
	ClientLine string `json:"client_line,omitempty"`
	Why        string `json:"why"`
	Fix        string `json:"fix,omitempty"`
}

// LoadFindings reads a findings file (YAML: a list of Finding).
func LoadFindings(file string) ([]Finding, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var fs []Finding
	if err := yaml.UnmarshalStrict(b, &fs); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for i, f := range fs {
		switch f.Class {
		case ServerDefect, MissingFeature, ClientAssumption, EnvironmentLimit:
		default:
			return nil, fmt.Errorf("%s: finding %d (%s): class %q is none of %q, %q, %q, %q", file, i+1, f.Case, f.Class,
				ServerDefect, MissingFeature, ClientAssumption, EnvironmentLimit)
		}
		if f.Class == ClientAssumption && f.ClientLine == "" {
			return nil, fmt.Errorf("%s: finding %d (%s): a client assumption names its client_line", file, i+1, f.Case)
		}
	}
	return fs, nil
}

// Explain returns the finding for a failed result, or nil. A finding's case
// may be a path.Match pattern ("kubectl*/get-all").
func Explain(fs []Finding, r Result) *Finding {
	for i := range fs {
		f := &fs[i]
		if ok, _ := path.Match(f.Case, r.Case); !ok {
			continue
		}
		if len(f.Servers) > 0 && !contains(f.Servers, r.Server) {
			continue
		}
		if f.Match != "" && !strings.Contains(r.Detail, f.Match) {
			continue
		}
		return f
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// UnclassifiedFailures lists the failures no finding explains, as "case on server".
func UnclassifiedFailures(rep *Report, fs []Finding) []string {
	var out []string
	for _, r := range rep.Results {
		if r.Status == Fail && Explain(fs, r) == nil {
			out = append(out, r.Case+" on "+r.Server)
		}
	}
	return out
}

// Counts are the results by status.
func (rep *Report) Counts() map[Status]int {
	c := map[Status]int{}
	for _, r := range rep.Results {
		c[r.Status]++
	}
	return c
}

func (rep *Report) result(caseID, server string) *Result {
	for i := range rep.Results {
		if rep.Results[i].Case == caseID && rep.Results[i].Server == server {
			return &rep.Results[i]
		}
	}
	return nil
}

// Markdown renders the report with the findings joined in.
func Markdown(rep *Report, fs []Finding) string {
	var b strings.Builder
	b.WriteString("# Client-assumption matrix: real clients against generic servers\n\n")
	if rep.Header != "" {
		b.WriteString(rep.Header + "\n\n")
	}
	c := rep.Counts()
	fmt.Fprintf(&b, "%d cases x %d servers, %d clients (%s): %d pass, %d fail, %d n/a; %.0f s.\n\n",
		len(rep.Cases), len(rep.Servers), len(rep.Clients), strings.Join(rep.Clients, ", "), c[Pass], c[Fail], c[NA], rep.Seconds)
	b.WriteString("Classes of failure: **server defect** (our or the upstream server answers wrongly), " +
		"**missing generic feature** (a generic server does not serve what the operation needs, by design or not yet), " +
		"**client assumption** (the client assumes a Kubernetes cluster; the finding names the line and the smallest fix), " +
		"**environment** (the matrix runs no controllers, nodes or metrics server), **unclassified** (no reviewed finding yet).\n\n")

	b.WriteString("## By client\n\n| client | cases | pass | fail | n/a |\n|---|---|---|---|---|\n")
	for _, cl := range rep.Clients {
		n, by := 0, map[Status]int{}
		for _, k := range rep.Cases {
			if k.Client != cl {
				continue
			}
			n++
			for _, r := range rep.Results {
				if r.Case == k.ID {
					by[r.Status]++
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", cl, n, by[Pass], by[Fail], by[NA])
	}
	b.WriteString("\n")

	b.WriteString("## Servers\n\n| server | what | /version |\n|---|---|---|\n")
	for _, s := range rep.Servers {
		v := s.Version
		if s.Error != "" {
			v = "did not start: " + oneLine(s.Error, 200)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Name, s.What, cell(v))
	}

	b.WriteString("\n## Matrix\n\n✅ pass, ❌ fail (class below), – not applicable (why below).\n\n| case | client |")
	for _, s := range rep.Servers {
		b.WriteString(" " + s.Name + " |")
	}
	b.WriteString("\n|---|---|")
	for range rep.Servers {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, k := range rep.Cases {
		fmt.Fprintf(&b, "| `%s` | %s |", k.ID, k.Client)
		for _, s := range rep.Servers {
			r := rep.result(k.ID, s.Name)
			switch {
			case r == nil:
				b.WriteString(" |")
			case r.Status == Pass:
				b.WriteString(" ✅ |")
			case r.Status == NA:
				b.WriteString(" – |")
			default:
				cls := Unclassified
				if f := Explain(fs, *r); f != nil {
					cls = f.Class
				}
				fmt.Fprintf(&b, " ❌ %s |", cls)
			}
		}
		b.WriteString("\n")
	}

	b.WriteString("\n## Failures\n\nEach failure with its error text and finding; failures that share a finding are listed under it once.\n")
	type group struct {
		f       *Finding
		results []Result
	}
	var groups []*group
	byFinding := map[*Finding]*group{}
	var unclassified []Result
	for _, k := range rep.Cases {
		for _, s := range rep.Servers {
			r := rep.result(k.ID, s.Name)
			if r == nil || r.Status != Fail {
				continue
			}
			f := Explain(fs, *r)
			if f == nil {
				unclassified = append(unclassified, *r)
				continue
			}
			g := byFinding[f]
			if g == nil {
				g = &group{f: f}
				byFinding[f] = g
				groups = append(groups, g)
			}
			g.results = append(g.results, *r)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return classOrder(groups[i].f.Class) < classOrder(groups[j].f.Class) })
	for _, g := range groups {
		fmt.Fprintf(&b, "\n### %s: `%s`\n\n", g.f.Class, g.f.Case)
		fmt.Fprintf(&b, "- on: %s\n", strings.Join(servers(g.results), ", "))
		fmt.Fprintf(&b, "- error (%s): `%s`\n", g.results[0].Server, oneLineTail(g.results[0].Detail, 400))
		fmt.Fprintf(&b, "- why: %s\n", g.f.Why)
		if g.f.ClientLine != "" {
			fmt.Fprintf(&b, "- client line: `%s`\n", g.f.ClientLine)
		}
		if g.f.Fix != "" {
			fmt.Fprintf(&b, "- fix: %s\n", g.f.Fix)
		}
	}
	if len(unclassified) > 0 {
		b.WriteString("\n### unclassified\n\n")
		for _, r := range unclassified {
			fmt.Fprintf(&b, "- `%s` on %s: `%s`\n", r.Case, r.Server, oneLineTail(r.Detail, 400))
		}
	}

	b.WriteString("\n## Not applicable\n\n")
	for _, k := range rep.Cases {
		var why []string
		for _, s := range rep.Servers {
			if r := rep.result(k.ID, s.Name); r != nil && r.Status == NA {
				why = append(why, s.Name+": "+oneLine(r.Detail, 160))
			}
		}
		if len(why) > 0 {
			fmt.Fprintf(&b, "- `%s`: %s\n", k.ID, strings.Join(why, "; "))
		}
	}

	b.WriteString("\n## Cases\n\n| case | client | what |\n|---|---|---|\n")
	for _, k := range rep.Cases {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.ID, k.Client, cell(k.What))
	}
	return b.String()
}

func classOrder(c string) int {
	for i, x := range []string{ServerDefect, ClientAssumption, MissingFeature, EnvironmentLimit} {
		if x == c {
			return i
		}
	}
	return 99
}

func servers(rs []Result) []string {
	var out []string
	for _, r := range rs {
		if !contains(out, r.Server) {
			out = append(out, r.Server)
		}
	}
	return out
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ReplaceAll(s, "`", "'")
}

// oneLineTail is oneLine keeping the end, where a client's error is.
func oneLineTail(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return strings.ReplaceAll(s, "`", "'")
}

func cell(s string) string { return strings.ReplaceAll(oneLine(s, 300), "|", "\\|") }
