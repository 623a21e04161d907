package dupcode

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// AllowList exempts reviewed shape repeats between pairs of files.
//
// The file has one entry a line; blank lines and lines starting with "#"
// are ignored:
//
//	FILE_A FILE_B REASON...
//
// FILE_A and FILE_B are slash-separated paths relative to the scanned root
// and may hold path.Match wildcards ("server/compat_*.go"); give the same
// file twice for a repeat within one file. The order of the two does not
// matter. REASON is required: it says why the repeat cannot be factored.
type AllowList struct {
	Entries []AllowEntry
}

// AllowEntry is one exemption.
type AllowEntry struct {
	A, B   string
	Reason string
	// Source is where the entry was read, "file:line".
	Source string
}

func (e AllowEntry) matches(f Finding) bool {
	m := func(pat, name string) bool {
		ok, _ := path.Match(pat, name) // patterns are checked when parsed
		return ok
	}
	return m(e.A, f.A.File) && m(e.B, f.B.File) || m(e.A, f.B.File) && m(e.B, f.A.File)
}

// LoadAllowList reads an allow list file.
func LoadAllowList(file string) (*AllowList, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseAllowList(file, data)
}

// ParseAllowList parses the text of an allow list; name is used in errors
// and in each entry's Source.
func ParseAllowList(name string, data []byte) (*AllowList, error) {
	l := &AllowList{}
	for i, text := range strings.Split(string(data), "\n") {
		n := i + 1
		fields := strings.Fields(text)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s:%d: want FILE_A FILE_B REASON, got %q", name, n, strings.TrimSpace(text))
		}
		for _, pat := range fields[:2] {
			if _, err := path.Match(pat, ""); err != nil {
				return nil, fmt.Errorf("%s:%d: bad pattern %q: %v", name, n, pat, err)
			}
		}
		l.Entries = append(l.Entries, AllowEntry{
			A:      fields[0],
			B:      fields[1],
			Reason: strings.Join(fields[2:], " "),
			Source: fmt.Sprintf("%s:%d", name, n),
		})
	}
	return l, nil
}

// Filter returns the findings no entry exempts and the entries that
// exempted nothing (stale: the repeat is gone, so the entry should go too).
// A nil list exempts nothing.
func (l *AllowList) Filter(findings []Finding) (kept []Finding, unused []AllowEntry) {
	if l == nil {
		return findings, nil
	}
	used := make([]bool, len(l.Entries))
	for _, f := range findings {
		allowed := false
		for i, e := range l.Entries {
			if e.matches(f) {
				used[i], allowed = true, true
			}
		}
		if !allowed {
			kept = append(kept, f)
		}
	}
	for i, e := range l.Entries {
		if !used[i] {
			unused = append(unused, e)
		}
	}
	return kept, unused
}
