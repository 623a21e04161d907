// Package pathpattern matches import paths against the patterns used in the
// depgraph rules files and command-line flags.
//
// The syntax follows the go command where it overlaps:
//
//	k8s.io/kubernetes/pkg/kubelet      exactly that package
//	k8s.io/kubernetes/pkg/kubelet/...  that package and everything below it
//	k8s.io/kubernetes/pkg/registry/*   one path element in place of *
//	...                                 every package
//
// "..." may appear anywhere and matches any string, including slashes; "*"
// matches any string without a slash.
package pathpattern

import (
	"fmt"
	"regexp"
	"strings"
)

// Pattern is a compiled import path pattern.
type Pattern struct {
	text string
	re   *regexp.Regexp
	// literal is set when the pattern has no wildcards, so Match can compare
	// strings instead of running a regexp on the hot path.
	literal bool
}

// Compile parses an import path pattern.
func Compile(text string) (*Pattern, error) {
	if text == "" {
		return nil, fmt.Errorf("empty import path pattern")
	}
	if strings.ContainsAny(text, " \t\n") {
		return nil, fmt.Errorf("import path pattern %q contains white space", text)
	}
	p := &Pattern{text: text}
	if !strings.Contains(text, "...") && !strings.Contains(text, "*") {
		p.literal = true
		return p, nil
	}
	var b strings.Builder
	b.WriteString("^")
	rest := text
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "/..."):
			// As with the go command, "x/..." also matches "x" itself.
			b.WriteString("(/.*)?")
			rest = rest[len("/..."):]
		case strings.HasPrefix(rest, "..."):
			b.WriteString(".*")
			rest = rest[len("..."):]
		case rest[0] == '*':
			b.WriteString("[^/]*")
			rest = rest[1:]
		default:
			// Copy literally up to the next wildcard; "/..." is found by
			// its "..." and the slash before it is left for the case above.
			i := len(rest)
			if j := strings.Index(rest, "..."); j >= 0 {
				i = j
				if j > 0 && rest[j-1] == '/' {
					i = j - 1
				}
			}
			if j := strings.IndexByte(rest, '*'); j >= 0 && j < i {
				i = j
			}
			b.WriteString(regexp.QuoteMeta(rest[:i]))
			rest = rest[i:]
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("import path pattern %q: %w", text, err)
	}
	p.re = re
	return p, nil
}

// MustCompile is Compile for patterns known to be valid.
func MustCompile(text string) *Pattern {
	p, err := Compile(text)
	if err != nil {
		panic(err)
	}
	return p
}

// Literal reports whether the pattern names exactly one import path.
func (p *Pattern) Literal() bool { return p.literal }

// String returns the pattern as written.
func (p *Pattern) String() string { return p.text }

// Match reports whether the import path matches the pattern.
func (p *Pattern) Match(path string) bool {
	if p.literal {
		return path == p.text
	}
	return p.re.MatchString(path)
}

// PrefixMatch reports whether the leading path elements of path match the
// pattern and returns those leading elements. It is what folds a package into
// its folder when a graph is collapsed: "k8s.io/kubernetes/pkg/registry/*"
// maps "k8s.io/kubernetes/pkg/registry/core/pod/storage" to
// "k8s.io/kubernetes/pkg/registry/core". A trailing "/..." folds everything
// below the prefix into the prefix itself.
func (p *Pattern) PrefixMatch(path string) (string, bool) {
	text := strings.TrimSuffix(p.text, "/...")
	if text != p.text {
		// "x/..." collapses x and everything under it into x.
		inner, err := Compile(text)
		if err != nil {
			return "", false
		}
		return inner.PrefixMatch(path)
	}
	n := strings.Count(text, "/") + 1
	elems := strings.SplitN(path, "/", n+1)
	if len(elems) < n {
		return "", false
	}
	prefix := strings.Join(elems[:n], "/")
	if p.Match(prefix) {
		return prefix, true
	}
	return "", false
}

// Set is a list of patterns; a path matches the set if it matches any member.
type Set []*Pattern

// CompileSet compiles every pattern in texts.
func CompileSet(texts []string) (Set, error) {
	set := make(Set, 0, len(texts))
	for _, t := range texts {
		p, err := Compile(t)
		if err != nil {
			return nil, err
		}
		set = append(set, p)
	}
	return set, nil
}

// Match reports whether path matches any pattern in the set.
func (s Set) Match(path string) bool {
	for _, p := range s {
		if p.Match(path) {
			return true
		}
	}
	return false
}

// Strings returns the patterns as written.
func (s Set) Strings() []string {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = p.text
	}
	return out
}
