package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A transformer layer is a dozen short parallel regions (each product,
// layer norm and the attention heads), ~80 of them per CLIP forward pass,
// some of only tens of microseconds. Starting goroutines for each meant
// waking a parked OS thread for each, which costs ~10-50 µs on a VM and
// was a tenth of a two-thread text encoding. Parallel hands parts to
// persistent workers instead, which spin (yielding their P) for a while
// after their last part before they block, as ONNX Runtime's and
// OpenMP's thread pools do.

// workerSpin is how long an idle worker keeps looking for work before it
// blocks.
const workerSpin = 200 * time.Microsecond

type parTask struct {
	fn         func(part int)
	parts      int32
	next, done atomic.Int32
	fin        chan struct{} // closed when done reaches parts
}

// run claims and runs parts until none is left.
func (t *parTask) run() {
	for {
		i := t.next.Add(1) - 1
		if i >= t.parts {
			return
		}
		t.fn(int(i))
		if t.done.Add(1) == t.parts {
			close(t.fin)
		}
	}
}

var pool struct {
	mu      sync.Mutex   // serialises starting workers
	workers atomic.Int32 // started so far
	ch      chan *parTask
}

func init() { pool.ch = make(chan *parTask, 256) }

// ensureWorkers starts workers until there are at least n (at most 64).
func ensureWorkers(n int) {
	n = min(n, 64)
	if int(pool.workers.Load()) >= n { // every call after the first few
		return
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for int(pool.workers.Load()) < n {
		go worker()
		pool.workers.Add(1)
	}
}

func worker() {
	for {
		var t *parTask
		select {
		case t = <-pool.ch:
		default:
			deadline := time.Now().Add(workerSpin)
			for t == nil {
				select {
				case t = <-pool.ch:
				default:
					if time.Now().After(deadline) {
						t = <-pool.ch
					} else {
						runtime.Gosched()
					}
				}
			}
		}
		t.run()
	}
}

// Parallel runs fn(0) … fn(parts-1), each once, on the calling goroutine
// and up to parts-1 pool workers, and returns when all have returned. A
// part may run on any goroutine; parts must not depend on one another.
func Parallel(parts int, fn func(part int)) {
	if parts <= 1 {
		if parts == 1 {
			fn(0)
		}
		return
	}
	t := &parTask{fn: fn, parts: int32(parts), fin: make(chan struct{})}
	ensureWorkers(parts - 1)
	for i := 0; i < parts-1; i++ {
		select {
		case pool.ch <- t:
		default: // every worker is busy and the queue full: the caller does more itself
		}
	}
	t.run()
	// The other parts started when ours did and are about as long: spin
	// (yielding) for them a while before blocking.
	deadline := time.Now().Add(workerSpin)
	for t.done.Load() < t.parts {
		if time.Now().After(deadline) {
			<-t.fin
			return
		}
		runtime.Gosched()
	}
}

// parallelSteps runs fn over [0, n) in pieces of step (the last shorter),
// one part each (Parallel).
func parallelSteps(n, step int, fn func(lo, hi int)) {
	Parallel((n+step-1)/step, func(i int) {
		lo := i * step
		fn(lo, min(n, lo+step))
	})
}
