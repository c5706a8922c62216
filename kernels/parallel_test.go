package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallel: every part runs exactly once, from many concurrent
// callers and from parts that call Parallel themselves (a caller always
// runs parts itself, so nesting cannot deadlock when every worker is
// busy).
func TestParallel(t *testing.T) {
	Parallel(0, func(int) { t.Fatal("a part of zero ran") })
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 200; round++ {
				parts := 1 + (c+round)%7
				counts := make([]atomic.Int32, parts)
				var inner atomic.Int32
				Parallel(parts, func(i int) {
					counts[i].Add(1)
					if round%50 == 0 {
						Parallel(3, func(int) { inner.Add(1) })
					}
				})
				for i := range counts {
					if n := counts[i].Load(); n != 1 {
						t.Errorf("part %d of %d ran %d times", i, parts, n)
						return
					}
				}
				if round%50 == 0 && inner.Load() != int32(3*parts) {
					t.Errorf("nested parts ran %d times, want %d", inner.Load(), 3*parts)
					return
				}
			}
		}()
	}
	wg.Wait()
}
