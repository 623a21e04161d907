package testcontrolplane_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/testcontrolplane"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Two releases of one CRD, tested at once in two instances: release 1
// serves v1alpha1 (spec.count); release 2 adds v1 (spec.size), stores v1
// and converts through a webhook. Each instance serves its own release.
func TestCRDVersionsInParallelInstances(t *testing.T) {
	webhook := httptest.NewTLSServer(http.HandlerFunc(convertGizmos))
	t.Cleanup(webhook.Close)
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: webhook.Certificate().Raw})
	alpha := schema.GroupVersionResource{Group: "example.com", Version: "v1alpha1", Resource: "gizmos"}
	v1 := alpha.GroupResource().WithVersion("v1")

	t.Run("release 1", func(t *testing.T) {
		t.Parallel()
		cp := testcontrolplane.Start(t, testcontrolplane.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{gizmoCRD(nil)}})
		client := dynamic.NewForConfigOrDie(cp.Config)
		_, err := client.Resource(alpha).Namespace("default").Create(context.Background(), gizmo("v1alpha1", "count", 3), metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = client.Resource(v1).Namespace("default").Get(context.Background(), "g", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "release 1 serves no v1: %v", err)
	})
	t.Run("release 2", func(t *testing.T) {
		t.Parallel()
		cp := testcontrolplane.Start(t, testcontrolplane.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{gizmoCRD(&apiextensionsv1.CustomResourceConversion{
			Strategy: apiextensionsv1.WebhookConverter,
			Webhook: &apiextensionsv1.WebhookConversion{
				ConversionReviewVersions: []string{"v1"},
				ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: ptr(webhook.URL + "/convert"), CABundle: caBundle},
			},
		})}})
		client := dynamic.NewForConfigOrDie(cp.Config)
		ctx := context.Background()
		_, err := client.Resource(alpha).Namespace("default").Create(ctx, gizmo("v1alpha1", "count", 3), metav1.CreateOptions{})
		require.NoError(t, err)
		got, err := client.Resource(v1).Namespace("default").Get(ctx, "g", metav1.GetOptions{})
		require.NoError(t, err)
		size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size")
		assert.Equal(t, int64(3), size, "v1 read of a v1alpha1 write, through the webhook: %v", got.Object)
	})
}

func gizmoCRD(conversion *apiextensionsv1.CustomResourceConversion) *apiextensionsv1.CustomResourceDefinition {
	schemaWith := func(field string) *apiextensionsv1.CustomResourceValidation {
		return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
			Type: "object",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {
				Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{field: {Type: "integer"}},
			}},
		}}
	}
	versions := []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true, Schema: schemaWith("count")}}
	if conversion != nil {
		versions[0].Storage = false
		versions = append(versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1", Served: true, Storage: true, Schema: schemaWith("size")})
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gizmos.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names:      apiextensionsv1.CustomResourceDefinitionNames{Plural: "gizmos", Singular: "gizmo", Kind: "Gizmo", ListKind: "GizmoList"},
			Versions:   versions,
			Conversion: conversion,
		},
	}
}

func gizmo(version, field string, n int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/" + version, "kind": "Gizmo",
		"metadata": map[string]any{"name": "g", "namespace": "default"},
		"spec":     map[string]any{field: n},
	}}
}

// convertGizmos is the conversion webhook: spec.count (v1alpha1) is
// spec.size (v1).
func convertGizmos(w http.ResponseWriter, r *http.Request) {
	var review apiextensionsv1.ConversionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	from, to := "size", "count"
	if review.Request.DesiredAPIVersion == "example.com/v1" {
		from, to = "count", "size"
	}
	resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
	for _, raw := range review.Request.Objects {
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw.Raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n, found, _ := unstructured.NestedInt64(obj.Object, "spec", from); found {
			unstructured.RemoveNestedField(obj.Object, "spec", from)
			unstructured.SetNestedField(obj.Object, n, "spec", to)
		}
		obj.SetAPIVersion(review.Request.DesiredAPIVersion)
		data, _ := obj.MarshalJSON()
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtimeRaw(data))
	}
	review.Response, review.Request = resp, nil
	json.NewEncoder(w).Encode(&review)
}
