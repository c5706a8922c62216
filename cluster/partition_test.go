package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"rosetta/engine"
)

// TestClusterPartition isolates one node (every route of its NATS server
// cut, both ways) under writes: writes through it are refused or time out
// — never acknowledged — while the majority goes on; after healing, every
// write either side acknowledged is on every replica and the replicas
// agree (no split brain).
func TestClusterPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("partition tests take a minute")
	}
	h := newHarness(t, 3)
	ctx := context.Background()
	if _, err := h.nodes[0].node.CreateCollection(ctx, testSchema("p", 3, 3)); err != nil {
		t.Fatal(err)
	}
	p := newPicker(2) // the majority: nodes 0 and 1
	l := startLoad(h, "p", p.pick)
	time.Sleep(time.Second)
	minority := h.nodes[2].node
	before := len(l.ackedNow())
	h.partition(2, true)
	t.Logf("node n3 cut off with %d writes acknowledged", before)
	// Writes through the minority: none is acknowledged.
	refused, acked := 0, 0
	// Longer than JetStream's election (4–6 s, bench/RESULTS.md §16):
	// the majority elects new leaders for the shards n3 led and goes on.
	deadline := time.Now().Add(14 * time.Second)
	var minorityKeys []string
	for b := 0; time.Now().Before(deadline); b++ {
		o := obj(fmt.Sprintf("minority-%d", b))
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := minority.Upsert(cctx, "p", []engine.Object{o})
		cancel()
		if err != nil {
			refused++
			continue
		}
		acked++
		minorityKeys = append(minorityKeys, o.Key)
	}
	// A write the cut-off server took in the first instant, before it
	// noticed, would be a quorum write; after that every one must fail.
	if refused == 0 || acked > 1 {
		t.Fatalf("the minority acknowledged %d writes and refused %d", acked, refused)
	}
	mid := len(l.ackedNow())
	if mid <= before+20 {
		t.Fatalf("the majority acknowledged %d writes during the partition", mid-before)
	}
	t.Logf("during the partition: minority refused %d writes (acknowledged %d), majority acknowledged %d", refused, acked, mid-before)
	h.partition(2, false)
	time.Sleep(2 * time.Second)
	all := append(l.end(), minorityKeys...)
	// The minority takes writes again once healed.
	waitFor(t, 30*time.Second, "a write through the healed node", func() error {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := minority.Upsert(cctx, "p", []engine.Object{obj("healed")})
		return err
	})
	all = append(all, "healed")
	checkAll(t, h, "p", all, 60*time.Second)
	for i := range h.nodes {
		if r := recallRYW(t, h.nodes[i].node, "p", stableUnion(t, h.nodes[i].node, "p", all), 20); r < 0.95 {
			t.Fatalf("recall@10 after healing on %s: %.3f", h.nodes[i].name, r)
		}
	}
}

// TestClusterRebalance adds a fourth node under writes: shards move to
// it (it joins, catches up, serves; a replica it replaces leaves), nothing
// is lost and recall is unchanged.
func TestClusterRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("rebalance tests take a minute")
	}
	h := newHarness(t, 3)
	ctx := context.Background()
	if _, err := h.nodes[0].node.CreateCollection(ctx, testSchema("r", 6, 2)); err != nil {
		t.Fatal(err)
	}
	p := newPicker(3)
	l := startLoad(h, "r", p.pick)
	time.Sleep(2 * time.Second)
	l.pause.Lock()
	keys := stableUnion(t, h.nodes[0].node, "r", l.ackedNow())
	r0 := recallRYW(t, h.nodes[0].node, "r", keys, 20)
	l.pause.Unlock()
	i := h.addNode()
	n4 := h.nodes[i].name
	start := time.Now()
	waitFor(t, 60*time.Second, "the new node serving shards", func() error {
		rec, err := h.nodes[0].node.record("r")
		if err != nil {
			return err
		}
		serving, joining := 0, 0
		for s := 0; s < rec.Shards; s++ {
			if contains(rec.Serving[s], n4) {
				serving++
			}
			joining += len(rec.Joining[s])
		}
		if serving == 0 || joining > 0 {
			return fmt.Errorf("%s serves %d shards; %d replicas joining (serving %v)", n4, serving, joining, rec.Serving)
		}
		return nil
	})
	rec, _ := h.nodes[0].node.record("r")
	t.Logf("shards moved in %s: serving %v, epoch %d", time.Since(start).Round(time.Millisecond), rec.Serving, rec.Epoch)
	for s := 0; s < rec.Shards; s++ {
		if len(rec.Serving[s]) != 2 {
			t.Fatalf("shard %d has %d replicas after the move", s, len(rec.Serving[s]))
		}
	}
	acked := l.end()
	checkAll(t, h, "r", acked, 60*time.Second)
	for _, j := range h.running() {
		if r := recallRYW(t, h.nodes[j].node, "r", stableUnion(t, h.nodes[j].node, "r", acked), 20); r < 0.95 || r < r0-0.03 {
			t.Fatalf("recall@10 on %s after the move: %.3f (before: %.3f)", h.nodes[j].name, r, r0)
		}
	}
	// The replicas that left dropped their local shard.
	waitFor(t, 20*time.Second, "left replicas dropped", func() error {
		for _, tn := range h.nodes {
			locals, _ := tn.eng.ListCollections(ctx)
			for _, c := range locals {
				_, s, _ := parseLocal(c.Name)
				if !rec.holds(tn.name, s) {
					return fmt.Errorf("%s still holds %s", tn.name, c.Name)
				}
			}
		}
		return nil
	})
}
