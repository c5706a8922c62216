package index

import (
	"fmt"
	"io"
	"sync"

	"rosetta/kernels"
)

// Flat is an exact index: every search scores the query against every live
// vector with the batch kernel. It is the ground truth for the benchmarks,
// the right choice for small collections, and the fallback of HNSW.
// Deletes are immediate (the last row moves into the hole).
type Flat struct {
	dim    int
	metric kernels.Metric

	// mu guards everything below: searches hold it shared, writes
	// exclusively.
	mu   sync.RWMutex
	vecs []float32 // row-major, len(ids)*dim
	ids  []uint64  // row → external id
	rows map[uint64]int
}

var _ Index = (*Flat)(nil)

// NewFlat returns an empty exact index.
func NewFlat(dim int, metric kernels.Metric) (*Flat, error) {
	if dim < 1 || dim > maxDim {
		return nil, fmt.Errorf("%w: dim %d not in 1..%d", ErrBadConfig, dim, maxDim)
	}
	if !metric.Valid() {
		return nil, fmt.Errorf("%w: metric %d unknown", ErrBadConfig, metric)
	}
	return &Flat{dim: dim, metric: metric, rows: make(map[uint64]int)}, nil
}

// Dim implements Index.
func (f *Flat) Dim() int { return f.dim }

// Metric implements Index.
func (f *Flat) Metric() kernels.Metric { return f.metric }

// Len implements Index.
func (f *Flat) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.ids)
}

// Contains implements Index.
func (f *Flat) Contains(id uint64) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.rows[id]
	return ok
}

// Add implements Index.
func (f *Flat) Add(id uint64, vec []float32) error {
	v, err := f.rules().prepare(vec, nil, true)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.rows[id]; ok {
		copy(f.vecs[r*f.dim:], v)
		return nil
	}
	f.rows[id] = len(f.ids)
	f.ids = append(f.ids, id)
	f.vecs = append(f.vecs, v...)
	return nil
}

// Delete implements Index.
func (f *Flat) Delete(id uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rows[id]
	if !ok {
		return false
	}
	last := len(f.ids) - 1
	if r != last {
		copy(f.vecs[r*f.dim:(r+1)*f.dim], f.vecs[last*f.dim:])
		f.ids[r] = f.ids[last]
		f.rows[f.ids[r]] = r
	}
	f.ids = f.ids[:last]
	f.vecs = f.vecs[:last*f.dim]
	delete(f.rows, id)
	return true
}

// scanChunk is the number of rows scored per kernel call.
const scanChunk = 256

// Search implements Index. opts.Ef is validated but otherwise unused: the
// search is exact.
func (f *Flat) Search(q []float32, o SearchOptions) ([]Result, error) {
	if _, err := checkKEf(o.K, o.Ef, o.K); err != nil {
		return nil, err
	}
	qv, err := f.rules().prepare(q, nil, false)
	if err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	top := kernels.NewTopK(o.K)
	dist := f.metric.Distance()
	evals := 0
	if o.Allow != nil && o.Allow.GetCardinality() < uint64(len(f.ids))/4 {
		it := o.Allow.Iterator()
		for it.HasNext() {
			id := it.Next()
			if r, ok := f.rows[id]; ok {
				top.Push(id, dist(qv, f.vecs[r*f.dim:(r+1)*f.dim]))
				evals++
			}
		}
	} else {
		var out [scanChunk]float32
		for start := 0; start < len(f.ids); start += scanChunk {
			end := min(start+scanChunk, len(f.ids))
			kernels.ScoreBlock(f.metric, qv, f.vecs[start*f.dim:end*f.dim], out[:end-start])
			for i, d := range out[:end-start] {
				id := f.ids[start+i]
				if o.Allow == nil || o.Allow.Contains(id) {
					top.Push(id, d)
				}
			}
		}
		evals = len(f.ids)
	}
	if o.Stats != nil {
		*o.Stats = SearchStats{DistanceEvals: evals, Exact: true}
	}
	return toResults(f.metric, top.Sorted()), nil
}

// Flat body: dim u32, metric u8, rows u32, ids [rows]u64, vecs [rows*dim]f32.

// WriteTo implements Index.
func (f *Flat) WriteTo(w io.Writer) (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e := newEncoder(w, kindFlat)
	e.u32(uint32(f.dim))
	e.u8(uint8(f.metric))
	e.u32(uint32(len(f.ids)))
	e.u64s(f.ids)
	e.f32s(f.vecs)
	return e.finish()
}

// ReadFlat reads an index written by (*Flat).WriteTo.
func ReadFlat(r io.Reader) (*Flat, error) {
	data, _, err := readAll(r)
	if err != nil {
		return nil, err
	}
	d, err := openFile(data, kindFlat)
	if err != nil {
		return nil, err
	}
	dim := int(d.u32())
	metric := kernels.Metric(d.u8())
	rows := d.u32()
	if d.err != nil {
		return nil, d.err
	}
	f, err := NewFlat(dim, metric)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if !d.count(uint64(rows), 8+4*dim) {
		return nil, d.err
	}
	f.ids = make([]uint64, rows)
	f.vecs = make([]float32, int(rows)*dim)
	d.u64s(f.ids)
	d.f32s(f.vecs)
	if err := d.done(); err != nil {
		return nil, err
	}
	for r, id := range f.ids {
		if _, dup := f.rows[id]; dup {
			return nil, fmt.Errorf("%w: id %d stored twice", ErrCorrupt, id)
		}
		f.rows[id] = r
	}
	if err := kernels.CheckFinite(f.vecs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return f, nil
}
