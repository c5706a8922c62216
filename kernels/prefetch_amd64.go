package kernels

//go:noescape
func prefetchLines(p *float32, lines int)

// Prefetch asks the CPU to start loading v into cache. It changes nothing
// and is only a hint: the graph search calls it on the next neighbour's
// vector while computing the current distance, so that memory latency
// overlaps with arithmetic.
func Prefetch(v []float32) {
	if len(v) == 0 {
		return
	}
	prefetchLines(&v[0], (len(v)*4+63)/64)
}
