package series

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Failure says where a patch did not apply: which patch, which file, which
// hunk, and what git printed.
type Failure struct {
	Index  int    // 1-based position in the series
	Patch  string // patch file name
	File   string // file in the tree, when git named one
	Line   int    // line in the original file where the failing hunk starts
	Hunk   string // the hunk text from the patch, when it could be located
	Output string // git's own words
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "patch %d (%s) does not apply", f.Index, f.Patch)
	if f.File != "" {
		fmt.Fprintf(&b, ": %s", f.File)
		if f.Line > 0 {
			fmt.Fprintf(&b, " hunk at line %d", f.Line)
		}
	}
	if f.Hunk != "" {
		fmt.Fprintf(&b, "\n%s", indent(f.Hunk))
	}
	if out := gitSaid(f.Output); out != "" {
		fmt.Fprintf(&b, "\ngit said:\n%s", indent(out))
	}
	return b.String()
}

var (
	patchFailedRE = regexp.MustCompile(`(?m)^error: patch failed: (.+):(\d+)$`)
	fileErrorRE   = regexp.MustCompile(`(?m)^error: (.+): (does not exist in index|already exists in (?:index|working directory)|No such file or directory|patch does not apply|does not match index)$`)
	hunkHeaderRE  = regexp.MustCompile(`^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@`)
)

// locateFailure fills File, Line and Hunk from git apply/am output and the
// patch text.
func locateFailure(f *Failure, patch string) {
	if m := patchFailedRE.FindStringSubmatch(f.Output); m != nil {
		f.File = m[1]
		f.Line, _ = strconv.Atoi(m[2])
	} else if m := fileErrorRE.FindStringSubmatch(f.Output); m != nil {
		f.File = m[1]
	}
	if f.File != "" {
		f.Hunk = findHunk(patch, f.File, f.Line)
	}
}

// findHunk returns the hunk of file in patch whose old range starts at line,
// or the file's first hunk when line is 0.
func findHunk(patch, file string, line int) string {
	lines := strings.Split(patch, "\n")
	inFile := false
	for i, l := range lines {
		if strings.HasPrefix(l, "diff --git ") {
			inFile = strings.HasSuffix(l, " b/"+file) || strings.Contains(l, " a/"+file+" ")
			continue
		}
		if !inFile {
			continue
		}
		m := hunkHeaderRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if start, _ := strconv.Atoi(m[1]); line != 0 && start != line {
			continue
		}
		end := i + 1
		for end < len(lines) && !strings.HasPrefix(lines[end], "@@") && !strings.HasPrefix(lines[end], "diff --git ") && lines[end] != "-- " {
			end++
		}
		const maxLines = 20
		if end-i > maxLines {
			return strings.Join(lines[i:i+maxLines], "\n") + fmt.Sprintf("\n... (%d more lines)", end-i-maxLines)
		}
		return strings.Join(lines[i:end], "\n")
	}
	return ""
}

// gitSaid keeps git's diagnosis and drops its advice on resuming the am,
// which the tooling has already aborted.
func gitSaid(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "hint:") || strings.HasPrefix(t, "When you have resolved") ||
			strings.HasPrefix(t, "If you prefer to skip") || strings.HasPrefix(t, "To restore the original branch") ||
			strings.HasPrefix(t, "Patch failed at") {
			continue
		}
		keep = append(keep, t)
	}
	return strings.Join(keep, "\n")
}
