// Package faults is the fault suite of the minimal API server: real server
// processes on real storage, driven by real clients into the faults its users
// will meet (a data dir in use, corrupt or full; kill -9 at every phase;
// panicking or hanging plugins; bad requests; load) and checked for the
// behaviour they expect: a clear error, nothing acknowledged lost, a server
// that stays ready.
//
// The suite is this package's tests. Each case records a Result (what the
// server did, with its numbers) into a directory, and cmd/faults-report
// renders the results as analysis/reports/faults.{md,json}.
package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Status is the outcome of one case.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	// Upstream is a case whose answer is known to fall short because of
	// upstream code, asserted as it is so that a change is noticed; its
	// Upstream field names the line.
	Upstream Status = "upstream"
)

// Result is one fault case: which fault, on which storage backend, what the
// server did and whether that is what its users expect.
type Result struct {
	// Area groups the cases of one kind, in Areas order.
	Area string `json:"area"`
	// Fault says what was done to the server.
	Fault string `json:"fault"`
	// Backend is the --storage value, or "" where storage does not matter.
	Backend string `json:"backend,omitempty"`
	Status  Status `json:"status"`
	// Did is what the server did, as observed (exit status, error text, HTTP
	// status and message); for a failure, what went wrong.
	Did string `json:"did"`
	// Numbers are the measured figures (seconds, counts, bytes).
	Numbers map[string]float64 `json:"numbers,omitempty"`
	// Upstream names the upstream code that makes the answer fall short
	// (Status Upstream).
	Upstream string `json:"upstream,omitempty"`
	// Test is the go test name that produced the result.
	Test string `json:"test"`
}

// tempDirs matches the directories go test makes for a test
// (t.TempDir: <tmp>/<TestName><random>/001): the report names them <tmp>,
// so that it does not change with every run for their random names.
var tempDirs = regexp.MustCompile(regexp.QuoteMeta(os.TempDir()) + `/Test[^/\s'"]*/[0-9]{3}`)

// Areas are the report's sections, in order.
var Areas = []string{"data dir", "kill -9", "plugins", "bad requests", "load", "security"}

// Save writes r as one JSON file in dir, named after its test.
func Save(dir string, r Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(r.Test) + ".json"
	return os.WriteFile(filepath.Join(dir, name), b, 0o644)
}

// Load reads the results Save wrote into dir, sorted by area, then test name.
func Load(dir string) ([]Result, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		r.Did = tempDirs.ReplaceAllString(r.Did, "<tmp>")
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ai, aj := areaIndex(out[i].Area), areaIndex(out[j].Area)
		if ai != aj {
			return ai < aj
		}
		return out[i].Test < out[j].Test
	})
	return out, nil
}

func areaIndex(area string) int {
	if i := slices.Index(Areas, area); i >= 0 {
		return i
	}
	return len(Areas)
}

// Counts tallies results by status.
func Counts(results []Result) map[Status]int {
	c := map[Status]int{}
	for _, r := range results {
		c[r.Status]++
	}
	return c
}

// Markdown renders results as the report's tables, one per area.
func Markdown(results []Result, header string) string {
	var b strings.Builder
	b.WriteString("# Faults, load and bad input\n\n")
	b.WriteString(header)
	c := Counts(results)
	fmt.Fprintf(&b, "\n%d cases: %d pass, %d fail, %d skip, %d known upstream shortfalls.\n", len(results), c[Pass], c[Fail], c[Skip], c[Upstream])
	area := ""
	for _, r := range results {
		if r.Area != area {
			area = r.Area
			fmt.Fprintf(&b, "\n## %s\n\n| fault | backend | result | what the server did | numbers |\n|---|---|---|---|---|\n", area)
		}
		backend := r.Backend
		if backend == "" {
			backend = "-"
		}
		did := r.Did
		if r.Upstream != "" {
			did += ". Upstream: " + r.Upstream
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(r.Fault), backend, r.Status, cell(did), numbers(r.Numbers))
	}
	return b.String()
}

func numbers(n map[string]float64) string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, formatNumber(n[k])))
	}
	return cell(strings.Join(parts, ", "))
}

func formatNumber(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
