package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestFuncPluginCall(t *testing.T) {
	plugin := func(fn AdmitFunc) *funcPlugin {
		return &funcPlugin{name: "Test", fn: fn, timeout: 200 * time.Millisecond}
	}
	t.Run("allows", func(t *testing.T) {
		assert.NoError(t, plugin(func(context.Context, Request) error { return nil }).call(context.Background(), Request{}))
	})
	t.Run("denies", func(t *testing.T) {
		err := plugin(func(context.Context, Request) error { return errors.New("no") }).call(context.Background(), Request{})
		assert.EqualError(t, err, "no")
	})
	t.Run("panics", func(t *testing.T) {
		err := plugin(func(context.Context, Request) error { panic("boom") }).call(context.Background(), Request{})
		require.True(t, apierrors.IsInternalError(err), "%v", err)
		assert.Contains(t, err.Error(), `admission plugin "Test" panicked: boom`)
	})
	t.Run("hangs", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		start := time.Now()
		err := plugin(func(context.Context, Request) error { <-release; return nil }).call(context.Background(), Request{})
		require.True(t, apierrors.IsTimeout(err), "%v", err)
		assert.Contains(t, err.Error(), `admission plugin "Test" did not answer within 200ms`)
		assert.Less(t, time.Since(start), 5*time.Second, "the call returns at its timeout, not when the plugin does")
	})
	t.Run("sees its deadline", func(t *testing.T) {
		err := plugin(func(ctx context.Context, _ Request) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			return nil
		}).call(context.Background(), Request{})
		assert.NoError(t, err)
	})
}
