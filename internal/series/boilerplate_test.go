package series

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBoilerplateYears mirrors hack/boilerplate/boilerplate.py: a header
// without YEAR accepts the years 2014-2025 that older files carry, and no
// other; a header with YEAR accepts any year.
func TestBoilerplateYears(t *testing.T) {
	const header = "/*\nCopyright The Kubernetes Authors.\n\nLicensed under the Apache License.\n*/\n"
	re := boilerplateRE(header)
	for content, want := range map[string]bool{
		"/*\nCopyright The Kubernetes Authors.\n\nLicensed under the Apache License.\n*/\n\npackage a\n":      true,
		"/*\nCopyright 2023 The Kubernetes Authors.\n\nLicensed under the Apache License.\n*/\n\npackage a\n": true,
		"/*\nCopyright 2014 The Kubernetes Authors.\n\nLicensed under the Apache License.\n*/\n\npackage a\n": true,
		"/*\nCopyright 2026 The Kubernetes Authors.\n\nLicensed under the Apache License.\n*/\n\npackage a\n": false,
		"/*\nCopyright The Authors.\n\nLicensed under the Apache License.\n*/\n\npackage a\n":                 false,
		"package a\n": false,
	} {
		assert.Equal(t, want, hasBoilerplate(content, re), "hasBoilerplate(%q)", content)
	}

	withYear := boilerplateRE("/*\nCopyright YEAR The Kubernetes Authors.\n*/\n")
	assert.True(t, hasBoilerplate("/*\nCopyright 2031 The Kubernetes Authors.\n*/\n", withYear), "a header with YEAR must accept any year")
}
