package server

import (
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
)

// Request is what an inline admission func sees: the admission attributes and
// the object in its request (external) version as a JSON-like map.
type Request struct {
	admission.Attributes
	// Object is the new object (nil for delete/connect), e.g. r.Object["data"].
	Object map[string]any
}

// AdmitFunc rejects a request by returning an error; the message is returned
// to the client as a 403 Forbidden "... is forbidden: <message>".
type AdmitFunc func(ctx context.Context, r Request) error

// AdmissionPlugin is an inline validating admission plugin.
type AdmissionPlugin struct {
	Name  string
	Admit AdmitFunc
}

type funcPlugin struct {
	*admission.Handler
	fn AdmitFunc
}

var _ admission.ValidationInterface = &funcPlugin{}

func (p *funcPlugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	r := Request{Attributes: a}
	if obj := a.GetObject(); obj != nil {
		m, err := toMap(obj, a)
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("cannot convert object for admission: %w", err))
		}
		r.Object = m
	}
	if err := p.fn(ctx, r); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// toMap converts internal built-in objects to the request version first (their
// internal Go types have no JSON names); custom resources are already unstructured.
func toMap(obj runtime.Object, a admission.Attributes) (map[string]any, error) {
	if u, ok := obj.(runtime.Unstructured); ok {
		return u.UnstructuredContent(), nil
	}
	gvk := a.GetKind()
	if legacyscheme.Scheme.IsVersionRegistered(gvk.GroupVersion()) {
		ext, err := legacyscheme.Scheme.ConvertToVersion(obj, gvk.GroupVersion())
		if err == nil {
			obj = ext
		}
	}
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

// registerAdmission registers and enables p (Options.Validate has checked
// that it is complete and that its name is free).
func registerAdmission(s *options.Options, p AdmissionPlugin) {
	ga := s.Admission.GenericAdmission
	fn := p.Admit
	ga.Plugins.Register(p.Name, func(io.Reader) (admission.Interface, error) {
		return &funcPlugin{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete, admission.Connect), fn: fn}, nil
	})
	ga.RecommendedPluginOrder = append(ga.RecommendedPluginOrder, p.Name)
	ga.EnablePlugins = append(ga.EnablePlugins, p.Name)
}
