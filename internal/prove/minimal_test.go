package prove

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckServedOnly(t *testing.T) {
	needs := []string{"v1/namespaces", "rbac.authorization.k8s.io/v1/roles"}
	ok := []string{"v1/namespaces", "v1/namespaces/status", "v1/secrets", "rbac.authorization.k8s.io/v1/roles",
		"apiextensions.k8s.io/v1/customresourcedefinitions/status"}
	assert.NoError(t, checkServedOnly(ok, minimalSampleGroupVersions, needs))

	err := checkServedOnly(append(ok, "coordination.k8s.io/v1/leases", "v1/secrets"), minimalSampleGroupVersions, needs)
	assert.EqualError(t, err, "serves resources of groups it did not pick: coordination.k8s.io/v1/leases")

	err = checkServedOnly([]string{"v1/secrets"}, minimalSampleGroupVersions, needs)
	assert.EqualError(t, err, "does not serve rbac.authorization.k8s.io/v1/roles, v1/namespaces")
}

func TestGroupVersionOf(t *testing.T) {
	for in, want := range map[string]string{
		"v1/namespaces":                      "v1",
		"v1/namespaces/finalize":             "v1",
		"rbac.authorization.k8s.io/v1/roles": "rbac.authorization.k8s.io/v1",
		"apps/v1/deployments/scale":          "apps/v1",
	} {
		assert.Equal(t, want, groupVersionOf(in), in)
	}
}
