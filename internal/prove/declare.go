package prove

import (
	"fmt"
	"regexp"
	"strings"
)

// Declaration is what a patch's commit message says it changes for
// kube-apiserver users: one line `kube-apiserver: no change` or
// `kube-apiserver: change: <what>`. Reviewers read the line; prove holds the
// patch to it by measuring kube-apiserver before and after the patch.
type Declaration struct {
	// Kind is DeclaredNoChange, DeclaredChange, or empty when the message
	// declares nothing.
	Kind string `json:"kind,omitempty"`
	// Text is what the change is, for DeclaredChange.
	Text string `json:"text,omitempty"`
	// Problem says why the declaration is unusable (missing, empty, or
	// contradicting another declaration line); empty when it is fine.
	Problem string `json:"problem,omitempty"`
}

// The two declaration kinds.
const (
	DeclaredNoChange = "no change"
	DeclaredChange   = "change"
)

// declarationRE matches a declaration line, case-insensitively, anywhere in
// the body. Lines such as "cmd/kube-apiserver: 465 -> 465" do not match: the
// line has to start with "kube-apiserver:" and go on with "no change" or
// "change:".
var declarationRE = regexp.MustCompile(`(?im)^[ \t]*kube-apiserver:[ \t]*(no change\b.*|change:.*)$`)

// declarationHint is the fix quoted in every declaration problem.
const declarationHint = "add a line `kube-apiserver: no change` or `kube-apiserver: change: <what changes for users>` to the commit message"

// ParseDeclaration finds the kube-apiserver declaration in a commit body.
func ParseDeclaration(body string) Declaration {
	var d Declaration
	for _, m := range declarationRE.FindAllStringSubmatch(body, -1) {
		cur := parseDeclarationLine(strings.TrimSpace(m[1]))
		switch {
		case cur.Problem != "":
			return cur
		case d.Kind == "":
			d = cur
		case d.Kind != cur.Kind:
			return Declaration{Problem: "the commit message declares both `kube-apiserver: no change` and `kube-apiserver: change:`; keep one"}
		case cur.Kind == DeclaredChange:
			d.Text += "; " + cur.Text
		}
	}
	if d.Kind == "" {
		d.Problem = "no kube-apiserver declaration: " + declarationHint
	}
	return d
}

// parseDeclarationLine reads what follows "kube-apiserver:".
func parseDeclarationLine(rest string) Declaration {
	lower := strings.ToLower(rest)
	if strings.HasPrefix(lower, "no change") {
		return Declaration{Kind: DeclaredNoChange}
	}
	text := strings.TrimSpace(rest[len("change:"):])
	if text == "" {
		return Declaration{Problem: "`kube-apiserver: change:` does not say what changes: " + declarationHint}
	}
	return Declaration{Kind: DeclaredChange, Text: text}
}

// String is the declaration as the report shows it.
func (d Declaration) String() string {
	switch d.Kind {
	case DeclaredNoChange:
		return "no change"
	case DeclaredChange:
		return fmt.Sprintf("change: %s", d.Text)
	}
	return "none"
}
