package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"rosetta/engine"
)

// TestClusterWriteSearchConverge: three nodes, a collection of 4 shards ×
// 2 replicas; writes through every node as coordinator; every replica
// converges to the same objects; searches from any node find the exact
// neighbours over the union; read_your_writes sees a write at once.
func TestClusterWriteSearchConverge(t *testing.T) {
	start := time.Now()
	h := newHarness(t, 3)
	t.Logf("harness up in %s", time.Since(start))
	ctx := context.Background()
	n1 := h.nodes[0].node
	c, err := n1.CreateCollection(ctx, testSchema("docs", 4, 2))
	if err != nil {
		t.Fatal(err)
	}
	if c.Shards != 4 || c.Replicas != 2 {
		t.Fatalf("created %+v", c)
	}
	if _, err := h.nodes[1].node.CreateCollection(ctx, testSchema("docs", 4, 2)); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	for _, bad := range []engine.Collection{testSchema("bad", 0, 9), testSchema("bad", 999, 1), {Name: "bad", Shards: 1}} {
		if _, err := n1.CreateCollection(ctx, bad); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("create %+v: %v", bad, err)
		}
	}
	var keys []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < 10; b++ {
				var objs []engine.Object
				for i := 0; i < 20; i++ {
					objs = append(objs, obj(fmt.Sprintf("w%d-%d-%d", w, b, i)))
				}
				ids, seqs, err := h.nodes[w].node.UpsertSequences(ctx, "docs", objs)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) != len(objs) || len(seqs) == 0 {
					t.Errorf("ids %d seqs %v", len(ids), seqs)
				}
				mu.Lock()
				for _, o := range objs {
					keys = append(keys, o.Key)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("writes done at %s", time.Since(start))
	waitFor(t, 30*time.Second, "convergence", func() error {
		got, err := h.converged("docs")
		if err != nil {
			return err
		}
		if len(got) != len(keys) {
			return fmt.Errorf("%d of %d keys", len(got), len(keys))
		}
		return nil
	})
	t.Logf("converged at %s", time.Since(start))
	for _, tn := range h.nodes {
		if r := recall(t, tn.node, "docs", keys, 20); r < 0.95 {
			t.Fatalf("recall@10 from %s: %.3f", tn.name, r)
		}
		if c, err := tn.node.GetCollection(ctx, "docs"); err != nil || c.Count != len(keys) {
			t.Fatalf("count from %s: %d %v", tn.name, c.Count, err)
		}
	}
	// Read your writes: the object a write acknowledged is found by the
	// next read_your_writes search on another node, ranked first.
	o := obj("ryw")
	if _, err := h.nodes[2].node.Upsert(ctx, "docs", []engine.Object{o}); err != nil {
		t.Fatal(err)
	}
	p, err := n1.SearchPage(ctx, "docs", engine.SearchRequest{Query: engine.Query{Vector: o.Vectors["v"]}, K: 1, Consistency: engine.ConsistencyReadYourWrites})
	if err != nil || len(p.Hits) != 1 || p.Hits[0].ID != keyID("ryw") {
		t.Fatalf("read_your_writes: %+v %v", p.Hits, err)
	}
	got, err := n1.GetObject(ctx, "docs", keyID("ryw"))
	if err != nil || got.Key != "ryw" {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Upsert by key again keeps the id; delete removes it everywhere.
	ids, err := h.nodes[1].node.Upsert(ctx, "docs", []engine.Object{obj("ryw")})
	if err != nil || ids[0] != keyID("ryw") {
		t.Fatalf("re-upsert: %v %v", ids, err)
	}
	if err := n1.DeleteObject(ctx, "docs", keyID("ryw")); err != nil {
		t.Fatal(err)
	}
	if err := n1.DeleteObject(ctx, "docs", 12345); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("delete of a missing object: %v", err)
	}
	p, err = n1.SearchPage(ctx, "docs", engine.SearchRequest{Query: engine.Query{Vector: o.Vectors["v"]}, K: 1, Consistency: engine.ConsistencyReadYourWrites})
	if err != nil || len(p.Hits) != 1 || p.Hits[0].ID == keyID("ryw") {
		t.Fatalf("after delete: %+v %v", p.Hits, err)
	}
	// Paging through the objects merges the shards in id order.
	all, after := 0, uint64(0)
	for {
		page, err := h.nodes[1].node.ListObjects(ctx, "docs", after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(page); i++ {
			if page[i].ID <= page[i-1].ID {
				t.Fatal("list out of order")
			}
		}
		all += len(page)
		if len(page) < 100 {
			break
		}
		after = page[len(page)-1].ID
	}
	if all != len(keys) {
		t.Fatalf("listed %d of %d", all, len(keys))
	}
	st := n1.ClusterStatus()
	if len(st.Nodes) != 3 || len(st.Collections) != 1 || st.Collections[0].Shards != 4 {
		t.Fatalf("status %+v", st)
	}
	// Drop: every replica's local shard goes.
	if err := h.nodes[2].node.DropCollection(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "drop on every node", func() error {
		for _, tn := range h.nodes {
			cs, _ := tn.eng.ListCollections(ctx)
			if len(cs) != 0 {
				return fmt.Errorf("%s still holds %d local collections", tn.name, len(cs))
			}
		}
		return nil
	})
	// Created again under the same name: nothing of the old one.
	if _, err := n1.CreateCollection(ctx, testSchema("docs", 4, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.nodes[1].node.Upsert(ctx, "docs", []engine.Object{obj("again")}); err != nil {
		t.Fatal(err)
	}
	p, err = h.nodes[2].node.SearchPage(ctx, "docs", engine.SearchRequest{Query: engine.Query{Vector: vec("x")}, K: 10, Consistency: engine.ConsistencyReadYourWrites})
	if err != nil || len(p.Hits) != 1 || p.Hits[0].ID != keyID("again") {
		t.Fatalf("re-created collection: %+v %v", p.Hits, err)
	}
}
