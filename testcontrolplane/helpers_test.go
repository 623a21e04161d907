package testcontrolplane_test

import "k8s.io/apimachinery/pkg/runtime"

func ptr[T any](v T) *T { return &v }

func runtimeRaw(data []byte) runtime.RawExtension { return runtime.RawExtension{Raw: data} }
