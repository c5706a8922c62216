// Package vecgen generates the synthetic vector sets used by tests and the
// ANN benchmark: uniform on the sphere, a clustered Gaussian mixture, and a
// cross-modal set whose queries are shifted away from the base vectors the
// way CLIP text embeddings sit apart from image embeddings.
package vecgen

import (
	"math"
	"math/rand/v2"
)

// Set is a base slab and a query slab of row-major vectors.
type Set struct {
	Dim     int
	Base    []float32 // len = NBase*Dim
	Queries []float32 // len = NQueries*Dim
}

// NBase is the number of base vectors.
func (s *Set) NBase() int { return len(s.Base) / s.Dim }

// NQueries is the number of queries.
func (s *Set) NQueries() int { return len(s.Queries) / s.Dim }

// Row returns vector i of a slab.
func Row(slab []float32, dim, i int) []float32 { return slab[i*dim : (i+1)*dim] }

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		v[0] = 1
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

func gaussUnit(r *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	normalize(v)
}

// Sphere draws n base and nq query vectors uniformly on the unit sphere.
func Sphere(n, nq, dim int, seed uint64) *Set {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &Set{Dim: dim, Base: make([]float32, n*dim), Queries: make([]float32, nq*dim)}
	for i := 0; i < n; i++ {
		gaussUnit(r, Row(s.Base, dim, i))
	}
	for i := 0; i < nq; i++ {
		gaussUnit(r, Row(s.Queries, dim, i))
	}
	return s
}

// Clustered draws from a mixture of `clusters` Gaussians: a centre uniform
// on the sphere plus N(0, sigma²) per component, then normalised. Queries
// come from the same mixture. This is the benchmark's in-distribution set
// (100 clusters, sigma 0.05).
func Clustered(n, nq, dim, clusters int, sigma float64, seed uint64) *Set {
	return clustered(n, nq, dim, clusters, sigma, 0, seed)
}

// CrossModal is Clustered with every query shifted by one fixed offset of
// norm `shift` (a random direction) before normalising, so queries sit
// apart from the base distribution as text queries do from images.
func CrossModal(n, nq, dim, clusters int, sigma, shift float64, seed uint64) *Set {
	return clustered(n, nq, dim, clusters, sigma, shift, seed)
}

func clustered(n, nq, dim, clusters int, sigma, shift float64, seed uint64) *Set {
	r := rand.New(rand.NewPCG(seed, 2))
	if clusters < 1 {
		clusters = 1
	}
	centres := make([]float32, clusters*dim)
	for c := 0; c < clusters; c++ {
		gaussUnit(r, Row(centres, dim, c))
	}
	offset := make([]float32, dim)
	gaussUnit(r, offset)
	for i := range offset {
		offset[i] *= float32(shift)
	}
	s := &Set{Dim: dim, Base: make([]float32, n*dim), Queries: make([]float32, nq*dim)}
	draw := func(v []float32, shifted bool) {
		c := Row(centres, dim, r.IntN(clusters))
		for i := range v {
			v[i] = c[i] + float32(sigma*r.NormFloat64())
			if shifted {
				v[i] += offset[i]
			}
		}
		normalize(v)
	}
	for i := 0; i < n; i++ {
		draw(Row(s.Base, dim, i), false)
	}
	for i := 0; i < nq; i++ {
		draw(Row(s.Queries, dim, i), shift != 0)
	}
	return s
}
