//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package models

import "os"

// lockFile creates path but does not lock it on this platform: run one
// pull of a model at a time.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
