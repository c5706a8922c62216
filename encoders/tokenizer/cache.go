package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// DefaultCacheSize is how many distinct words the BPE cache of a Tokenizer
// holds (across all shards) before it starts evicting.
const DefaultCacheSize = 1 << 16

// maxCachedWord is the longest pre-token (in bytes) that is cached.
const maxCachedWord = 256

const cacheShards = 32

// wordCache is a bounded, concurrency-safe map from pre-token to its ids.
// When a shard is full an arbitrary entry of that shard is evicted, which
// keeps memory bounded without per-hit bookkeeping.
type wordCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int
}

func newWordCache(size int) *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	if size <= 0 {
		return c
	}
	c.perShard = max(1, size/cacheShards)
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int)
	}
	return c
}

func (c *wordCache) shard(k string) *cacheShard {
	return &c.shards[maphash.String(c.seed, k)%cacheShards]
}

func (c *wordCache) get(k string) ([]int, bool) {
	if c.perShard == 0 {
		return nil, false
	}
	s := c.shard(k)
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

// put stores v (which must not be modified afterwards) under a copy of k.
func (c *wordCache) put(k string, v []int) {
	if c.perShard == 0 || len(k) > maxCachedWord {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok {
		if len(s.m) >= c.perShard {
			for old := range s.m {
				delete(s.m, old)
				break
			}
		}
		s.m[strings.Clone(k)] = v
	}
	s.mu.Unlock()
}

func (c *wordCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
