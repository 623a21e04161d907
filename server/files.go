package server

import (
	"fmt"
	"os"
)

// createPrivate creates path, empty and readable by its owner only, unless
// it exists: storage files hold every object, Secrets included, and the
// programs that create them would make them world-readable.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	return f.Close()
}
