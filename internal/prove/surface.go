package prove

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// Surface is kube-apiserver as a Kubernetes reviewer sees it, one list of
// lines per aspect (the keys below). Prove records it at every prefix and
// holds each patch to its declaration: what a patch does not declare must
// not change.
type Surface map[string][]string

// The aspects of a Surface.
const (
	AspectFlags        = "flags"
	AspectServed       = "served"
	AspectReadyz       = "readyz"
	AspectLivez        = "livez"
	AspectHooks        = "postStartHooks"
	AspectMutating     = "admissionMutating"
	AspectValidating   = "admissionValidating"
	AspectEtcdPrefixes = "etcdPrefixes"
)

// aspect says how to compare and name one part of the surface.
type aspect struct {
	key   string
	title string // for problems and the report
	// ordered: the order is behaviour (an admission chain runs in order);
	// otherwise the lines are a set and are compared sorted.
	ordered bool
}

// aspects lists every aspect in report order.
var aspects = []aspect{
	{AspectFlags, "flags (--help)", false},
	{AspectServed, "served resources", false},
	{AspectReadyz, "/readyz checks", false},
	{AspectLivez, "/livez checks", false},
	{AspectHooks, "post-start hooks", false},
	{AspectMutating, "mutating admission order", true},
	{AspectValidating, "validating admission order", true},
	{AspectEtcdPrefixes, "etcd key prefixes", false},
}

// AspectCheck compares one aspect of a prefix with the last prefix that
// measured it (normally the previous one) and with the baseline.
type AspectCheck struct {
	Aspect string `json:"aspect"`
	// Since is the step compared with: the previous one unless that one
	// could not measure the aspect.
	Since    int  `json:"since"`
	SamePrev bool `json:"samePrev"`
	SameBase bool `json:"sameBase"`
	// Declared: it differs from Since and the patch declared a change.
	Declared bool `json:"declared,omitempty"`
	// Diff is the difference from Since in one line.
	Diff string `json:"diff,omitempty"`
}

// measured is the last recorded value of each aspect and the step that
// recorded it, so a prefix whose kube-apiserver did not start does not
// blind the comparison of the next one.
type measured struct {
	lines map[string][]string
	at    map[string]int
}

func newMeasured() *measured {
	return &measured{lines: map[string][]string{}, at: map[string]int{}}
}

// record remembers what step index measured.
func (m *measured) record(index int, s Surface) {
	for k, v := range s {
		m.lines[k], m.at[k] = v, index
	}
}

// CompareSurface fills s.Aspects from cur against last and base and
// returns the problems it added to s.Problems: a difference from the last
// measured prefix that the patch did not declare (`kube-apiserver: change:`)
// is a problem naming the patch and the difference. A declared difference is
// accepted, and later prefixes are compared with this one, so it does not
// fail them either. base may be nil (then SameBase is computed against
// nothing and stays false only where last differs).
func CompareSurface(s *Step, cur Surface, last *measured, base Surface) []string {
	var problems []string
	for _, a := range aspects {
		now, ok := cur[a.key]
		prev, seen := last.lines[a.key]
		if !ok || !seen || s.Index == 0 {
			continue
		}
		c := AspectCheck{Aspect: a.key, Since: last.at[a.key], SamePrev: a.equal(prev, now), SameBase: a.equal(base[a.key], now)}
		if !c.SamePrev {
			c.Diff = a.diff(prev, now)
			c.Declared = s.Declared.Kind == DeclaredChange
			if !c.Declared {
				problems = append(problems, fmt.Sprintf("patch %s: undeclared kube-apiserver change: %s: %s", s.Patch, a.title, c.Diff))
			}
		}
		s.Aspects = append(s.Aspects, c)
	}
	s.Problems = append(s.Problems, problems...)
	return problems
}

func (a aspect) norm(lines []string) []string {
	if a.ordered {
		return lines
	}
	out := slices.Clone(lines)
	sort.Strings(out)
	return out
}

func (a aspect) equal(x, y []string) bool {
	return cmp.Equal(a.norm(x), a.norm(y), cmpEmptyEqual)
}

// cmpEmptyEqual treats a nil list and an empty one as the same measurement.
var cmpEmptyEqual = cmp.FilterValues(func(x, y []string) bool { return len(x) == 0 && len(y) == 0 }, cmp.Ignore())

// diff says in one line how now differs from prev: the changed stretch of
// the order for an ordered aspect (a reordering is the point), changed,
// added and removed flags for --help, what was added and removed for a set.
func (a aspect) diff(prev, now []string) string {
	switch {
	case a.ordered:
		return orderDiff(prev, now)
	case a.key == AspectFlags:
		return flagsDiff(prev, now)
	}
	return linesDiff(prev, now)
}

// orderDiff shows the part of two orders that differs, with one name of
// context on each side and … for the common rest:
// "…,ServiceAccount,PodSecurity,Priority,… -> …,ServiceAccount,Priority,PodSecurity,…".
func orderDiff(prev, now []string) string {
	pre := 0
	for pre < len(prev) && pre < len(now) && prev[pre] == now[pre] {
		pre++
	}
	suf := 0
	for suf < len(prev)-pre && suf < len(now)-pre && prev[len(prev)-1-suf] == now[len(now)-1-suf] {
		suf++
	}
	from, to := max(pre-1, 0), max(suf-1, 0)
	window := func(list []string) string {
		w := strings.Join(list[from:len(list)-to], ",")
		if from > 0 {
			w = "…," + w
		}
		if to > 0 {
			w += ",…"
		}
		return orNone(w)
	}
	return window(prev) + " -> " + window(now)
}

// flagsDiff compares --help by flag: a flag whose help line changed is
// named once, as changed, rather than as one line removed and one added.
func flagsDiff(prev, now []string) string {
	p, n := flagLines(prev), flagLines(now)
	var changed, added, removed []string
	for name, line := range n {
		if old, ok := p[name]; !ok {
			added = append(added, name)
		} else if old != line {
			changed = append(changed, name)
		}
	}
	for name := range p {
		if _, ok := n[name]; !ok {
			removed = append(removed, name)
		}
	}
	sort.Strings(changed)
	sort.Strings(added)
	sort.Strings(removed)
	var parts []string
	for _, c := range []struct {
		what  string
		names []string
	}{{"changed", changed}, {"added", added}, {"removed", removed}} {
		if len(c.names) > 0 {
			parts = append(parts, c.what+" "+listSome(c.names, 5))
		}
	}
	if len(parts) == 0 {
		return "same lines, other order or multiplicity"
	}
	return strings.Join(parts, "; ")
}

// flagLines indexes --help lines by flag name ("--etcd-prefix", or
// "--help" for "-h, --help"); other lines (section titles) by their text.
func flagLines(lines []string) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		key := t
		if f := strings.Fields(t); strings.HasPrefix(f[0], "-") {
			key = strings.TrimSuffix(f[0], ",")
			if strings.HasSuffix(f[0], ",") && len(f) > 1 {
				key = f[1]
			}
		}
		out[key] = t
	}
	return out
}

// linesDiff lists the lines added and removed, as sets.
func linesDiff(prev, now []string) string {
	added, removed := setDiff(prev, now)
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+listSome(added, 5))
	}
	if len(removed) > 0 {
		parts = append(parts, "removed "+listSome(removed, 5))
	}
	if len(parts) == 0 {
		return "same lines, other multiplicity"
	}
	return strings.Join(parts, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// setDiff returns the lines of now not in prev and of prev not in now,
// sorted, blank lines ignored.
func setDiff(prev, now []string) (added, removed []string) {
	in := func(lines []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range lines {
			if t := strings.TrimSpace(l); t != "" {
				m[t] = true
			}
		}
		return m
	}
	p, n := in(prev), in(now)
	for l := range n {
		if !p[l] {
			added = append(added, l)
		}
	}
	for l := range p {
		if !n[l] {
			removed = append(removed, l)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// maxItem is the longest item listSome quotes in full.
const maxItem = 100

// listSome quotes up to n items, each cut to maxItem bytes, and counts the
// rest, so one problem stays one readable line however large the change.
func listSome(items []string, n int) string {
	quoted := make([]string, 0, n)
	for i, it := range items {
		if i == n {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(items)-n))
			break
		}
		if len(it) > maxItem {
			it = it[:maxItem] + "…"
		}
		quoted = append(quoted, "`"+it+"`")
	}
	return strings.Join(quoted, ", ")
}

// healthLineRE is one check in /readyz?verbose or /livez?verbose output:
// "[+]poststarthook/start-apiextensions-informers ok" or "[-]etcd failed: ...".
var healthLineRE = regexp.MustCompile(`^\[([+-])\](\S+)`)

// ParseHealthChecks returns the check names a verbose health endpoint
// lists, sorted. A failing check keeps its name with " (failing)" appended,
// which shows up as a difference: a check that fails after ready is news.
func ParseHealthChecks(body string) []string {
	var names []string
	for _, line := range strings.Split(body, "\n") {
		m := healthLineRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		name := m[2]
		if m[1] == "-" {
			name += " (failing)"
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// PostStartHooks picks the poststarthook/* checks out of health check names
// (readyz and livez both list every hook) and returns the hook names.
func PostStartHooks(checks ...[]string) []string {
	seen := map[string]bool{}
	var hooks []string
	for _, list := range checks {
		for _, c := range list {
			name, ok := strings.CutPrefix(c, "poststarthook/")
			name, _, _ = strings.Cut(name, " ")
			if ok && !seen[name] {
				seen[name] = true
				hooks = append(hooks, name)
			}
		}
	}
	sort.Strings(hooks)
	return hooks
}

// admissionRE is the line k8s.io/apiserver/pkg/admission logs when it builds
// the admission chain, e.g. "Loaded 13 mutating admission controller(s)
// successfully in the following order: NamespaceLifecycle,LimitRanger,...".
var admissionRE = regexp.MustCompile(`Loaded \d+ (mutating|validating) admission controller\(s\) successfully in the following order: ([A-Za-z0-9,]*)`)

// ParseAdmissionOrder returns the mutating and validating plugin order the
// server logged. When a chain is logged more than once (each server of the
// delegation chain may build one) the distinct orders are joined with " | "
// in log order, so any change in any of them shows.
func ParseAdmissionOrder(log string) (mutating, validating []string) {
	seen := map[string]map[string]bool{"mutating": {}, "validating": {}}
	var got = map[string][]string{}
	for _, m := range admissionRE.FindAllStringSubmatch(log, -1) {
		kind, order := m[1], m[2]
		if seen[kind][order] {
			continue
		}
		seen[kind][order] = true
		if len(got[kind]) > 0 {
			got[kind] = append(got[kind], "|")
		}
		if order != "" {
			got[kind] = append(got[kind], strings.Split(order, ",")...)
		}
	}
	return got["mutating"], got["validating"]
}

// EtcdPrefixes reduces etcd keys to storage paths: the key without its last
// segment (the object name), cut to the first two segments after the server
// prefix, e.g. /registry/services/specs/default/kubernetes ->
// /registry/services/specs and /registry/masterleases/127.0.0.1 ->
// /registry/masterleases. Namespaced objects keep their namespace
// (/registry/configmaps/kube-system), which is as stable as the storage path.
func EtcdPrefixes(prefix string, keys []string) []string {
	prefix = "/" + strings.Trim(prefix, "/")
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix+"/")
		if !ok {
			continue
		}
		segs := strings.Split(rest, "/")
		segs = segs[:len(segs)-1] // the object name
		if len(segs) > 2 {
			segs = segs[:2]
		}
		if len(segs) == 0 {
			continue // a key right under the prefix names no storage path
		}
		p := prefix + "/" + strings.Join(segs, "/")
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
