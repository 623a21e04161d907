package server

import (
	"errors"

	"github.com/generic-controlplane/gcp/server/datadir"
)

// lockDataDir takes the data dir's lock (datadir.Acquire), with errors that
// name the field or flag of the data dir.
func lockDataDir(dir string) (*datadir.Lock, error) {
	l, err := datadir.Acquire(dir)
	var inUse *datadir.InUseError
	switch {
	case errors.As(err, &inUse):
		return nil, newFieldError("Options.DataDir", err, "data dir %s is in use by %s; stop it or choose another {field}", dir, inUse.Holder)
	case err != nil:
		return nil, newFieldError("Options.DataDir", err, "%v", err)
	}
	return l, nil
}
