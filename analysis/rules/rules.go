// Package rules reads the depgraph rules files: the owner classes every
// package is sorted into (classes.yaml) and the import rules that say which
// packages may not reach which (generic-controlplane*.yaml).
//
// Both live as YAML in this directory so that what counts as "Kubernetes" or
// "cluster-specific", and what is forbidden, is reviewed as data rather than
// buried in code. The default classes file is embedded in the binary.
package rules

import (
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/generic-controlplane/gcp/analysis/pathpattern"
)

//go:embed classes.yaml
var defaultClassesYAML []byte

// ClassesFile is the schema of classes.yaml.
type ClassesFile struct {
	Headline string              `json:"headline"`
	Classes  []ClassRule         `json:"classes"`
	Sets     map[string][]string `json:"sets"`
}

// ClassRule is one entry of classes.yaml.
type ClassRule struct {
	Name     string   `json:"name"`
	Group    string   `json:"group"`
	Standard bool     `json:"standard,omitempty"`
	Match    []string `json:"match,omitempty"`
	Modules  []string `json:"modules,omitempty"`
}

// Class is the owner a package was sorted into.
type Class struct {
	Name  string `json:"class"`
	Group string `json:"group"`
}

// Classes classifies import paths. It is safe for concurrent use.
type Classes struct {
	headline string
	rules    []compiledClass
	sets     []namedSet
	groups   []string // in first-appearance order, for stable reports
}

type compiledClass struct {
	ClassRule
	match   pathpattern.Set
	modules []string // longest first, so nested modules win
}

type namedSet struct {
	name string
	pats pathpattern.Set
}

// DefaultClasses returns the classes embedded from classes.yaml.
func DefaultClasses() *Classes {
	c, err := ParseClasses(defaultClassesYAML)
	if err != nil {
		panic("embedded classes.yaml: " + err.Error())
	}
	return c
}

// LoadClasses reads a classes file; an empty path means the embedded default.
func LoadClasses(path string) (*Classes, error) {
	if path == "" {
		return DefaultClasses(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseClasses(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseClasses parses the YAML of a classes file.
func ParseClasses(data []byte) (*Classes, error) {
	var f ClassesFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, err
	}
	if len(f.Classes) == 0 {
		return nil, fmt.Errorf("no classes defined")
	}
	c := &Classes{headline: f.Headline}
	seenGroup := map[string]bool{}
	for i, r := range f.Classes {
		if r.Name == "" || r.Group == "" {
			return nil, fmt.Errorf("class #%d: name and group are required", i+1)
		}
		if !r.Standard && len(r.Match) == 0 && len(r.Modules) == 0 {
			return nil, fmt.Errorf("class %q matches nothing: set standard, match or modules", r.Name)
		}
		set, err := pathpattern.CompileSet(r.Match)
		if err != nil {
			return nil, fmt.Errorf("class %q: %w", r.Name, err)
		}
		mods := append([]string(nil), r.Modules...)
		sort.Slice(mods, func(i, j int) bool { return len(mods[i]) > len(mods[j]) })
		c.rules = append(c.rules, compiledClass{ClassRule: r, match: set, modules: mods})
		if !seenGroup[r.Group] {
			seenGroup[r.Group] = true
			c.groups = append(c.groups, r.Group)
		}
	}
	if c.headline != "" && !seenGroup[c.headline] {
		return nil, fmt.Errorf("headline group %q is not the group of any class", c.headline)
	}
	names := make([]string, 0, len(f.Sets))
	for name := range f.Sets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		set, err := pathpattern.CompileSet(f.Sets[name])
		if err != nil {
			return nil, fmt.Errorf("set %q: %w", name, err)
		}
		c.sets = append(c.sets, namedSet{name: name, pats: set})
	}
	return c, nil
}

// Unclassified is the class of a package no rule matches.
var Unclassified = Class{Name: "unclassified", Group: "unclassified"}

// Classify returns the class of the package with the given import path.
// standard says whether go list reported it as part of the standard library.
func (c *Classes) Classify(path string, standard bool) Class {
	for _, r := range c.rules {
		// Only a standard rule may claim a standard library package, so a
		// catch-all third-party pattern never swallows "fmt".
		if standard || r.Standard {
			if standard && r.Standard {
				return Class{Name: r.Name, Group: r.Group}
			}
			continue
		}
		if r.match.Match(path) {
			return Class{Name: r.Name, Group: r.Group}
		}
		for _, m := range r.modules {
			if path == m || strings.HasPrefix(path, m+"/") {
				return Class{Name: strings.ReplaceAll(r.Name, "{module}", m), Group: r.Group}
			}
		}
	}
	return Unclassified
}

// Headline returns the group whose package count depgraph leads with.
func (c *Classes) Headline() string { return c.headline }

// Groups returns the group names in the order the classes file defines them.
func (c *Classes) Groups() []string { return append([]string(nil), c.groups...) }

// Sets returns the names of the sets path belongs to.
func (c *Classes) Sets(path string) []string {
	var in []string
	for _, s := range c.sets {
		if s.pats.Match(path) {
			in = append(in, s.name)
		}
	}
	return in
}

// SetNames returns every set name, sorted.
func (c *Classes) SetNames() []string {
	names := make([]string, len(c.sets))
	for i, s := range c.sets {
		names[i] = s.name
	}
	return names
}

// ImportRulesFile is the schema of an import rules file.
type ImportRulesFile struct {
	Rules []ImportRule `json:"rules"`
}

// ImportRule forbids packages matching From to reach packages matching Forbid.
type ImportRule struct {
	Name   string   `json:"name"`
	From   []string `json:"from"`
	Forbid []string `json:"forbid"`
	Reason string   `json:"reason,omitempty"`

	from, forbid pathpattern.Set
}

// AppliesTo reports whether the rule constrains the package at path.
func (r *ImportRule) AppliesTo(path string) bool { return r.from.Match(path) }

// Forbids reports whether the rule forbids reaching the package at path.
func (r *ImportRule) Forbids(path string) bool { return r.forbid.Match(path) }

// Roots returns the exact package paths (no wildcards) the rules constrain,
// in first-mention order: the natural roots to check when none are given.
func Roots(rs []*ImportRule) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		for _, p := range r.from {
			if p.Literal() && !seen[p.String()] {
				seen[p.String()] = true
				out = append(out, p.String())
			}
		}
	}
	return out
}

// LoadImportRules reads an import rules file.
func LoadImportRules(path string) ([]*ImportRule, error) {
	if path == "" {
		return nil, fmt.Errorf("no import rules file given")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rs, err := ParseImportRules(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// ParseImportRules parses the YAML of an import rules file.
func ParseImportRules(data []byte) ([]*ImportRule, error) {
	var f ImportRulesFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, err
	}
	if len(f.Rules) == 0 {
		return nil, fmt.Errorf("no rules defined")
	}
	out := make([]*ImportRule, 0, len(f.Rules))
	seen := map[string]bool{}
	for i := range f.Rules {
		r := f.Rules[i]
		if r.Name == "" {
			return nil, fmt.Errorf("rule #%d has no name", i+1)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("rule %q defined twice", r.Name)
		}
		seen[r.Name] = true
		if len(r.From) == 0 || len(r.Forbid) == 0 {
			return nil, fmt.Errorf("rule %q: from and forbid are required", r.Name)
		}
		var err error
		if r.from, err = pathpattern.CompileSet(r.From); err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		if r.forbid, err = pathpattern.CompileSet(r.Forbid); err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		out = append(out, &r)
	}
	return out, nil
}
