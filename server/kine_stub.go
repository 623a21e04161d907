//go:build nokine

package server

import "fmt"

const kineAvailable = false

func startKine(dsn string) (*storageBackend, error) {
	return nil, fmt.Errorf("this binary was built with -tags nokine; kine storage is not available")
}
