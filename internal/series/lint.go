package series

import "regexp"

// BoilerplatePath is where k/k keeps the license header Go files carry.
const BoilerplatePath = boilerplatePath

// GofmtProblem says why src is not what gofmt -l accepts, or returns "".
// Exported for cmd/prove, which checks the files every prefix touched.
func GofmtProblem(src []byte) string { return gofmtProblem(src) }

// BoilerplateRE turns the text of hack/boilerplate/boilerplate.go.txt into
// the pattern HasBoilerplate matches (any four-digit year); nil for no text.
func BoilerplateRE(text string) *regexp.Regexp { return boilerplateRE(text) }

// HasBoilerplate reports whether a Go file starts with the license header,
// after the build constraints and "Code generated" lines verify-boilerplate
// allows before it.
func HasBoilerplate(content string, re *regexp.Regexp) bool { return hasBoilerplate(content, re) }
