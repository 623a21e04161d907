package crdestablish

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEstablishLeftover(t *testing.T) {
	crd := func(name string, conds []apiextensionsv1.CustomResourceDefinitionCondition, webhook bool) *apiextensionsv1.CustomResourceDefinition {
		c := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
		c.Status.Conditions = conds
		if webhook {
			c.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter, Webhook: &apiextensionsv1.WebhookConversion{}}
		}
		return c
	}
	accepted := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionTrue}
	installing := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse, Reason: "Installing"}
	for _, c := range []struct {
		name      string
		crd       *apiextensionsv1.CustomResourceDefinition
		wantEstab bool
	}{
		{"left installing", crd("a.example.com", []apiextensionsv1.CustomResourceDefinitionCondition{accepted, installing}, false), true},
		{"names not accepted", crd("b.example.com", []apiextensionsv1.CustomResourceDefinitionCondition{installing}, false), false},
		{"conversion webhook: the establishing controller decides", crd("c.example.com", []apiextensionsv1.CustomResourceDefinitionCondition{accepted, installing}, true), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := fake.NewSimpleClientset(c.crd)
			require.NoError(t, establishLeftover(context.Background(), client, c.crd))
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), c.crd.Name, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, c.wantEstab, apiextensionshelpers.IsCRDConditionTrue(got, apiextensionsv1.Established))
		})
	}
}
