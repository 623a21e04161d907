package series

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LocateError says that the patches folder or the k/k tree is not where a
// command looked, with both absolute paths and how to point the command at
// them. Commands run outside the repository root meet it first.
type LocateError struct {
	Patches string // absolute path of the patches folder looked at
	Tree    string // absolute path of the tree looked at
	// PatchesMissing and TreeMissing say which of the two was not found;
	// TreeNeeded whether the command needs the tree to exist.
	PatchesMissing, TreeMissing, TreeNeeded bool
	// Detail is what exactly was missing, e.g. "/x/patches/BASE does not exist".
	Detail string
}

func (e *LocateError) Error() string {
	var b strings.Builder
	switch {
	case e.PatchesMissing:
		fmt.Fprintf(&b, "no patches folder at %s", e.Patches)
	default:
		fmt.Fprintf(&b, "no k/k tree at %s", e.Tree)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	b.WriteString("\nlooked for:\n")
	fmt.Fprintf(&b, "  patches folder  %s  %s\n", e.Patches, found(!e.PatchesMissing, true))
	fmt.Fprintf(&b, "  k/k tree        %s  %s\n", e.Tree, found(!e.TreeMissing, e.TreeNeeded))
	b.WriteString("run from the repository root, or pass --patches DIR (the folder holding BASE and series)")
	b.WriteString(" and --tree DIR or KK_TREE=DIR (a tree made by `make tree`, or a kubernetes/kubernetes checkout)")
	if e.TreeMissing && e.TreeNeeded && !e.PatchesMissing {
		b.WriteString("; `make tree` materializes the pinned tree into _output/kk")
	}
	return b.String()
}

func found(ok, needed bool) string {
	switch {
	case ok:
		return "(found)"
	case needed:
		return "(missing)"
	default:
		return "(not there yet)"
	}
}

// Locate checks, before a command reads either, that patches holds the
// BASE and series files and, with needTree, that tree is a directory. Its
// error is a *LocateError naming both absolute paths.
func Locate(patches, tree string, needTree bool) error {
	e := &LocateError{TreeNeeded: needTree}
	var err error
	if e.Patches, err = filepath.Abs(patches); err != nil {
		return err
	}
	for _, name := range []string{"BASE", FileName} {
		p := filepath.Join(e.Patches, name)
		if _, err := os.Stat(p); err != nil {
			e.PatchesMissing = true
			e.Detail = p + " does not exist"
			break
		}
	}
	if e.Tree, err = filepath.Abs(tree); err != nil {
		return err
	}
	if fi, err := os.Stat(e.Tree); err != nil || !fi.IsDir() {
		e.TreeMissing = true
	}
	if e.PatchesMissing || (e.TreeMissing && needTree) {
		return e
	}
	return nil
}
