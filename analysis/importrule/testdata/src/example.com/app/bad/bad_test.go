package bad_test

import (
	"testing"

	"example.com/kubelet/client" // want `forbidden in example.com/app/bad by rule "app-no-kubelet"`
)

func TestRun(t *testing.T) { client.Dial() }
