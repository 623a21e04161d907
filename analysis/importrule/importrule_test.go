package importrule

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/analysis/analysistest"
)

func setRules(t *testing.T, path string) {
	t.Helper()
	old := rulesFile
	require.NoError(t, Analyzer.Flags.Set("rules", path))
	t.Cleanup(func() { rulesFile = old })
}

func TestAnalyzer(t *testing.T) {
	testdata := analysistest.TestData()
	setRules(t, filepath.Join(testdata, "rules.yaml"))
	analysistest.Run(t, testdata, Analyzer, "example.com/app/...")
}

// recorder is an analysistest.Testing that keeps errors instead of failing.
type recorder struct{ errs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

func TestAnalyzerNeedsRules(t *testing.T) {
	setRules(t, "")
	var rec recorder
	res := analysistest.Run(&rec, analysistest.TestData(), Analyzer, "example.com/app/ok")
	require.Len(t, res, 1)
	assert.ErrorContains(t, res[0].Err, "-importrule.rules=FILE")

	setRules(t, filepath.Join(t.TempDir(), "missing.yaml"))
	res = analysistest.Run(&rec, analysistest.TestData(), Analyzer, "example.com/app/ok")
	require.Len(t, res, 1)
	assert.ErrorContains(t, res[0].Err, "missing.yaml")
}
