package bad

import (
	"strings"

	kc "example.com/kubelet/client" // want `import of example.com/kubelet/client is forbidden in example.com/app/bad by rule "app-no-kubelet": no nodes here`
	"example.com/other"             // want `import of example.com/other is forbidden in example.com/app/bad by rule "app-bad-no-other"`
)

func Run() { _ = strings.ToUpper(""); kc.Dial(); other.Do() }
