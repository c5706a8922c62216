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
	ErrDimension   = errors.New("index: wrong vector dimension")
	ErrNonFinite   = errors.New("index: vector has NaN or Inf components")
	ErrZeroVector  = errors.New("index: zero vector cannot be normalised for cosine")
	ErrBadK        = errors.New("index: k must be positive")
	ErrBadEf       = errors.New("index: ef must be >= k")
	ErrBadConfig   = errors.New("index: invalid configuration")
	ErrCorrupt     = errors.New("index: corrupt or truncated index file")
	ErrVersion     = errors.New("index: unsupported index file version")
	ErrKind        = errors.New("index: file holds another kind of index")
	ErrTooMany     = errors.New("index: capacity of 2^32-1 nodes reached")
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
	Add(id uint64, vec []float32) error
	// Delete removes id and reports whether it was present.
	Delete(id uint64) bool
	// Contains reports whether id is live.
	Contains(id uint64) bool
	// Search returns up to opts.K nearest live vectors, closest first.
	Search(q []float32, opts SearchOptions) ([]Result, error)
	// WriteTo serialises the index (versioned, checksummed).
	WriteTo(w io.Writer) (int64, error)
}

// prepareVector validates v for an index of dimension dim and metric m and
// returns the form that is stored or searched: a copy, normalised for cosine.
// buf is reused when it has room.
func prepareVector(v []float32, dim int, m kernels.Metric, buf []float32) ([]float32, error) {
	if len(v) != dim {
		return nil, fmt.Errorf("%w: got %d, index has %d", ErrDimension, len(v), dim)
	}
	if err := kernels.CheckFinite(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNonFinite, err)
	}
	if cap(buf) < dim {
		buf = make([]float32, dim)
	}
	buf = buf[:dim]
	copy(buf, v)
	if m == kernels.MetricCosine {
		if err := kernels.Normalize(buf); err != nil {
			return nil, ErrZeroVector
		}
		// A vector so small that its norm underflows can still normalise to
		// Inf components; refuse it rather than store garbage.
		if err := kernels.CheckFinite(buf); err != nil {
			return nil, ErrZeroVector
		}
	}
	return buf, nil
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
