package series

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/generic-controlplane/gcp/internal/gitx"
)

// boilerplatePath is where k/k keeps the license header new Go files carry.
const boilerplatePath = "hack/boilerplate/boilerplate.go.txt"

// Problem is one thing check found wrong.
type Problem struct {
	Patch   string // patch file, empty for series-level problems
	File    string // file in the tree, when the problem is in one
	Message string
}

func (p Problem) String() string {
	var where []string
	if p.Patch != "" {
		where = append(where, p.Patch)
	}
	if p.File != "" {
		where = append(where, p.File)
	}
	if len(where) == 0 {
		return p.Message
	}
	return strings.Join(where, ": ") + ": " + p.Message
}

// Check verifies the series without touching the work tree or its branches:
// the series file and the folder agree, every subject follows the UPSTREAM
// convention, every patch applies in order without fuzz (into a scratch
// index), new Go files carry the license boilerplate and touched Go files are
// gofmt-clean. Patches after one that fails to apply are not checked.
func (s *Series) Check(ctx context.Context) ([]Problem, error) {
	names, err := s.Patches()
	if err != nil {
		return nil, err
	}
	problems := s.checkFolder(names)

	idx, err := os.CreateTemp("", "series-check-index-")
	if err != nil {
		return nil, err
	}
	idx.Close()
	defer os.Remove(idx.Name())
	r := gitx.Repo{Dir: s.Tree, Env: []string{"GIT_INDEX_FILE=" + idx.Name()}}
	if _, err := r.Run(ctx, "read-tree", s.Base); err != nil {
		return nil, err
	}
	boilerplate, err := r.Run(ctx, "show", s.Base+":"+boilerplatePath)
	if err != nil {
		s.logf("warning: %s has no %s; license headers are not checked", s.Base, boilerplatePath)
		boilerplate = ""
	}
	headerRE := boilerplateRE(boilerplate)

	for i, name := range names {
		data, err := os.ReadFile(s.path(name))
		if err != nil {
			continue // reported by checkFolder
		}
		s.logf("[%d/%d] checking %s", i+1, len(names), name)
		pf, err := parsePatch(string(data))
		if err != nil {
			problems = append(problems, Problem{Patch: name, Message: "not a git format-patch mail: " + err.Error()})
			continue
		}
		if !SubjectRE.MatchString(pf.Subject) {
			problems = append(problems, Problem{Patch: name, Message: fmt.Sprintf("subject %q does not start with `UPSTREAM: <carry>: `, `UPSTREAM: <drop>: ` or `UPSTREAM: <PR number>: `", pf.Subject)})
		}
		abs, _ := filepath.Abs(s.path(name))
		if _, err := r.Run(ctx, "apply", "--cached", abs); err != nil {
			var gerr *gitx.Error
			f := &Failure{Index: i + 1, Patch: name, Output: err.Error()}
			if errors.As(err, &gerr) {
				f.Output = gerr.Stderr
			}
			locateFailure(f, string(data))
			problems = append(problems, Problem{Patch: name, File: f.File, Message: f.Error()})
			if len(names) > i+1 {
				problems = append(problems, Problem{Message: fmt.Sprintf("the %d patches after %s were not checked", len(names)-i-1, name)})
			}
			break
		}
		for _, file := range sortedKeys(pf.Files) {
			if !strings.HasSuffix(file, ".go") {
				continue
			}
			content, err := r.Run(ctx, "show", ":"+file)
			if err != nil {
				problems = append(problems, Problem{Patch: name, File: file, Message: "cannot read the patched file: " + err.Error()})
				continue
			}
			if msg := gofmtProblem([]byte(content)); msg != "" {
				problems = append(problems, Problem{Patch: name, File: file, Message: msg})
			}
			if pf.Files[file] && headerRE != nil && !hasBoilerplate(content, headerRE) && !isVendored(file) {
				problems = append(problems, Problem{Patch: name, File: file, Message: "new Go file lacks the license header of " + boilerplatePath + " (YEAR replaced by the year)"})
			}
		}
	}
	return problems, nil
}

// checkFolder compares the series file with the *.patch files on disk.
func (s *Series) checkFolder(names []string) []Problem {
	var problems []Problem
	listed := map[string]bool{}
	for _, n := range names {
		if listed[n] {
			problems = append(problems, Problem{Patch: n, Message: "listed twice in the series file"})
		}
		listed[n] = true
		if _, err := os.Stat(s.path(n)); err != nil {
			problems = append(problems, Problem{Patch: n, Message: "listed in the series file but missing from " + s.Dir})
		}
	}
	onDisk, _ := filepath.Glob(filepath.Join(s.Dir, "*.patch"))
	for _, p := range onDisk {
		if n := filepath.Base(p); !listed[n] {
			problems = append(problems, Problem{Patch: n, Message: "in " + s.Dir + " but not listed in the series file"})
		}
	}
	return problems
}

func gofmtProblem(src []byte) string {
	formatted, err := format.Source(src)
	if err != nil {
		return "does not parse: " + err.Error()
	}
	if !bytes.Equal(formatted, src) {
		return "not gofmt-clean (run gofmt -w on it in the tree and amend the commit)"
	}
	return ""
}

// boilerplateRE turns k/k's boilerplate.go.txt into a pattern matching it
// with any four-digit year.
func boilerplateRE(text string) *regexp.Regexp {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	quoted := regexp.QuoteMeta(text)
	if strings.Contains(text, "YEAR") {
		return regexp.MustCompile(`^` + strings.ReplaceAll(quoted, "YEAR", `\d{4}`))
	}
	// Since 2026 the header has no year, but hack/boilerplate/boilerplate.py
	// still accepts the years 2014-2025 of the files that carry one.
	return regexp.MustCompile(`^` + strings.Replace(quoted, "Copyright ", `Copyright (?:20(?:1[4-9]|2[0-5]) )?`, 1))
}

// hasBoilerplate reports whether content starts with the license header,
// after the build constraint and "Code generated" lines that k/k's
// verify-boilerplate allows before it.
func hasBoilerplate(content string, re *regexp.Regexp) bool {
	for {
		line, rest, _ := strings.Cut(content, "\n")
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "//go:build") || strings.HasPrefix(t, "// +build") ||
			(strings.HasPrefix(t, "// Code generated") && strings.HasSuffix(t, "DO NOT EDIT.")) {
			if rest == content {
				return false
			}
			content = rest
			continue
		}
		return re.MatchString(content)
	}
}

func isVendored(file string) bool {
	return strings.HasPrefix(file, "vendor/") || strings.Contains(file, "/testdata/") || strings.HasPrefix(file, "third_party/")
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
