//go:build unix

package safetensors

import (
	"os"
	"syscall"
)

func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		// Fall back to reading (e.g. file systems that refuse mmap).
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, nil, err
		}
		return b, func() error { return nil }, nil
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
