package clients

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

func jsonUnmarshal(s string, into any) error { return json.Unmarshal([]byte(s), into) }

func schemeForEvents() *runtime.Scheme { return scheme.Scheme }

type ctrlControllerOptions = controller.Options
