package index

import (
	"errors"
	"fmt"
	"io"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/kernels"
)

// Errors returned by the indexes. Check them with errors.Is.
var (
	ErrDimension  = errors.New("index: wrong vector dimension")
	ErrNonFinite  = errors.New("index: vector has NaN or Inf components")
	ErrZeroVector = errors.New("index: zero vector cannot be normalised for cosine")
	// ErrMagnitude: the vector's squared norm exceeds MaxFloat32/8, so a
	// distance to another accepted vector could overflow float32.
	ErrMagnitude   = errors.New("index: vector norm too large for float32 distances")
	ErrBadK        = errors.New("index: k must be positive")
	ErrBadEf       = errors.New("index: ef must be >= k")
	ErrBadConfig   = errors.New("index: invalid configuration")
	ErrCorrupt     = errors.New("index: corrupt or truncated index file")
	ErrVersion     = errors.New("index: unsupported index file version")
	ErrKind        = errors.New("index: file holds another kind of index")
	ErrTooMany     = errors.New("index: capacity of 2^32-2 nodes reached")
	ErrClosed      = errors.New("index: closed")
	ErrNotFound    = errors.New("index: id not found")
	ErrMetricParam = errors.New("index: invalid metric")
)

// MaxK bounds k and ef for one query so that a request cannot allocate
// without limit.
const MaxK = 100_000

// Result is one hit: the caller's id, the internal distance (smaller is
// closer) and the user-facing score (cosine similarity, inner product, or
// Euclidean distance for L2).
type Result struct {
	ID       uint64
	Distance float32
	Score    float32
}

// SearchOptions are per query; nothing on the shared index changes.
type SearchOptions struct {
	// K is the number of results wanted (> 0).
	K int
	// Ef is the size of the dynamic candidate list; 0 means the index's
	// default (at least K). An explicit Ef < K is an error.
	Ef int
	// Allow, when non-nil, restricts results to these ids (an allow-list
	// from a metadata filter). Whenever at least K live ids pass it, exactly
	// K results are returned.
	Allow *roaring64.Bitmap
	// Stats, when non-nil, receives counters for this query.
	Stats *SearchStats
}

// SearchStats reports the work one query did.
type SearchStats struct {
	// DistanceEvals counts distance computations, a hardware-independent
	// measure of search cost.
	DistanceEvals int
	// Exact is true when the query was answered by an exact scan (a small
	// allow-list, or a fallback).
	Exact bool
	// Retries counts how often a filtered graph search widened ef.
	Retries int
	// Rescored counts the candidates a quantised index re-scored against
	// full-precision vectors.
	Rescored int
}

// Index is the interface shared by the HNSW graph and the exact flat index.
// All methods are safe for concurrent use.
type Index interface {
	// Dim is the vector dimension.
	Dim() int
	// Metric is the comparison used.
	Metric() kernels.Metric
	// Len is the number of live (searchable) vectors.
	Len() int
	// Add inserts vec under id, replacing any vector already stored under
	// id. vec is copied (and normalised for cosine); the caller keeps it.
	// It refuses exactly the vectors Check refuses, with the same error.
	Add(id uint64, vec []float32) error
	// Check returns the error Add would return for vec (ErrDimension,
	// ErrNonFinite, ErrMagnitude, ErrZeroVector) or nil, without inserting
	// anything, so that a caller can validate before committing a write.
	Check(vec []float32) error
	// Delete removes id and reports whether it was present.
	Delete(id uint64) bool
	// Contains reports whether id is live.
	Contains(id uint64) bool
	// Search returns up to opts.K nearest live vectors, closest first.
	Search(q []float32, opts SearchOptions) ([]Result, error)
	// WriteTo serialises the index (versioned, checksummed).
	WriteTo(w io.Writer) (int64, error)
}

// checkKEf validates k and ef and returns the effective ef.
func checkKEf(k, ef, defaultEf int) (int, error) {
	if k <= 0 {
		return 0, fmt.Errorf("%w: got %d", ErrBadK, k)
	}
	if k > MaxK {
		return 0, fmt.Errorf("%w: %d exceeds the maximum %d", ErrBadK, k, MaxK)
	}
	if ef == 0 {
		return max(defaultEf, k), nil
	}
	if ef < k {
		return 0, fmt.Errorf("%w: ef %d < k %d", ErrBadEf, ef, k)
	}
	if ef > MaxK {
		return 0, fmt.Errorf("%w: ef %d exceeds the maximum %d", ErrBadEf, ef, MaxK)
	}
	return ef, nil
}

func toResults(m kernels.Metric, c []kernels.Candidate) []Result {
	out := make([]Result, len(c))
	for i, x := range c {
		out[i] = Result{ID: x.ID, Distance: x.Dist, Score: m.Similarity(x.Dist)}
	}
	return out
}
