package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"rosetta/engine"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// replica applies one shard's stream to its local collection.
type replica struct {
	coll    string
	shard   int
	local   string
	applied atomic.Uint64
	cancel  context.CancelFunc
	done    chan struct{}
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func (n *Node) appliedMap() map[string]uint64 {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(n.replicas) == 0 {
		return nil
	}
	m := make(map[string]uint64, len(n.replicas))
	for _, r := range n.replicas {
		m[shardID(r.coll, r.shard)] = r.applied.Load()
	}
	return m
}

func (n *Node) reconcileLoop() {
	defer n.wg.Done()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		n.reconcile()
		select {
		case <-n.ctx.Done():
			return
		case <-n.reconcileC:
		case <-t.C:
			n.refresh(n.meta, n.putColl)
		}
	}
}

// reconcile makes the replicas here those the map assigns to this node:
// it creates the local collection of a new one and starts applying its
// stream from what the collection has applied; it stops and drops those
// the map no longer assigns here (the rebalancer takes a replica away only
// once enough others serve the shard) and local shard collections of
// collections that are gone.
func (n *Node) reconcile() {
	n.mu.Lock()
	want := map[string]*collRecord{}
	shardOfLocal := map[string]int{}
	for _, r := range n.colls {
		for s := 0; s < r.Shards; s++ {
			if r.holds(n.cfg.Node, s) {
				want[r.local(s)] = r
				shardOfLocal[r.local(s)] = s
			}
		}
	}
	var stale []*replica
	for local, rep := range n.replicas {
		if want[local] == nil {
			stale = append(stale, rep)
			delete(n.replicas, local)
		}
	}
	n.mu.Unlock()
	ctx := engine.Trusted(n.ctx)
	for _, rep := range stale {
		rep.stop()
		n.log.Info("shard replica moved away: dropping it", "collection", rep.coll, "shard", rep.shard)
		if err := n.eng.DropCollection(ctx, rep.local); err != nil && !errors.Is(err, engine.ErrNotFound) {
			n.log.Error("dropping a shard replica", "local", rep.local, "err", err)
		}
	}
	// Local shard collections nobody wants (a collection dropped while
	// this node was down).
	if locals, err := n.eng.ListCollections(ctx); err == nil {
		for _, c := range locals {
			if _, _, ok := parseLocal(c.Name); ok && want[c.Name] == nil {
				n.mu.RLock()
				running := n.replicas[c.Name] != nil
				n.mu.RUnlock()
				if !running {
					n.log.Info("dropping a shard replica the cluster map no longer has", "local", c.Name)
					n.eng.DropCollection(ctx, c.Name)
				}
			}
		}
	}
	for local, r := range want {
		n.mu.RLock()
		running := n.replicas[local] != nil
		n.mu.RUnlock()
		if running || n.ctx.Err() != nil {
			continue
		}
		s := shardOfLocal[local]
		if err := n.ensureLocal(ctx, r, s); err != nil {
			n.log.Error("creating a shard replica", "collection", r.Schema.Name, "shard", s, "err", err)
			continue
		}
		rctx, cancel := context.WithCancel(n.ctx)
		rep := &replica{coll: r.Schema.Name, shard: s, local: local, cancel: cancel, done: make(chan struct{})}
		if a, err := n.eng.Applied(local); err == nil {
			rep.applied.Store(a)
		}
		n.mu.Lock()
		if n.closed.Load() {
			n.mu.Unlock()
			cancel()
			return
		}
		n.replicas[local] = rep
		n.mu.Unlock()
		go n.runReplica(rctx, rep)
	}
}

// ensureLocal creates a shard replica's local collection unless it exists.
func (n *Node) ensureLocal(ctx context.Context, r *collRecord, shard int) error {
	local := r.local(shard)
	if _, err := n.eng.GetCollection(ctx, local); err == nil {
		return nil
	}
	c := r.Schema
	c.Name = local
	c.Shards, c.Replicas, c.Count = 0, 0, 0
	_, err := n.eng.CreateCollection(ctx, c)
	if errors.Is(err, engine.ErrExists) {
		return nil
	}
	return err
}

// runReplica applies the shard's stream from the entry after the last
// one the local collection applied, until ctx ends. A transient failure
// (the engine loading, a full disk, the stream unreachable) restarts the
// consumer from what was applied, after a pause.
func (n *Node) runReplica(ctx context.Context, rep *replica) {
	defer close(rep.done)
	stream := n.streamName(rep.coll, rep.shard)
	log := n.log.With("collection", rep.coll, "shard", rep.shard)
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
			return true
		}
	}
	for ctx.Err() == nil {
		if err := n.eng.WaitReady(ctx); err != nil {
			return
		}
		applied, err := n.eng.Applied(rep.local)
		if err != nil {
			if !pause() {
				return
			}
			continue
		}
		rep.applied.Store(applied)
		if err := n.applyFrom(ctx, rep, stream, applied+1); err != nil && ctx.Err() == nil {
			log.Warn("applying the shard log paused", "applied", rep.applied.Load(), "err", err)
			if !pause() {
				return
			}
		}
	}
}

func (n *Node) applyFrom(ctx context.Context, rep *replica, stream string, start uint64) error {
	cctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	cons, err := n.js.OrderedConsumer(cctx, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start})
	cancel()
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	// Short pulls with idle heartbeats: when the stream's leader goes, a
	// missed heartbeat makes the ordered consumer re-create itself on the
	// new leader within a couple of seconds (the defaults take ~1 min).
	it, err := cons.Messages(jetstream.PullMaxMessages(256), jetstream.PullExpiry(2*time.Second), jetstream.PullHeartbeat(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			it.Stop()
		case <-stopped:
			it.Stop()
		}
	}()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := md.Sequence.Stream
		if seq <= rep.applied.Load() {
			continue
		}
		dels, objs, derr := decodeEntry(m.Data())
		if derr != nil {
			// Every replica reads the same bytes: skip it everywhere.
			n.log.Error("undecodable shard log entry: skipped", "collection", rep.coll, "shard", rep.shard, "seq", seq, "err", derr)
			dels, objs = nil, nil
		}
		_, err = n.eng.ApplyLog(ctx, rep.local, seq, objs, dels, n.fetchBlob)
		if err != nil && !errors.Is(err, engine.ErrInvalid) {
			return fmt.Errorf("entry %d: %w", seq, err)
		}
		if err != nil {
			n.log.Error("shard log entry refused (recorded as applied)", "collection", rep.coll, "shard", rep.shard, "seq", seq, "err", err)
		}
		rep.applied.Store(seq)
	}
}

// fetchBlob reads a kept original from the cluster's blob bucket.
func (n *Node) fetchBlob(sha string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
	defer cancel()
	return n.blobs.GetBytes(ctx, sha)
}

// waitApplied waits until the local replica has applied seq, up to the
// configured bound.
func (n *Node) waitApplied(ctx context.Context, local string, seq uint64) error {
	if seq == 0 {
		return nil
	}
	deadline := time.Now().Add(n.cfg.WaitApplied)
	for {
		n.mu.RLock()
		rep := n.replicas[local]
		n.mu.RUnlock()
		if rep != nil && rep.applied.Load() >= seq {
			return nil
		}
		if time.Now().After(deadline) {
			have := uint64(0)
			if rep != nil {
				have = rep.applied.Load()
			}
			return fmt.Errorf("%w: replica %s of %s has applied %d of %d entries after %s", engine.ErrUnavailable, n.cfg.Node, local, have, seq, n.cfg.WaitApplied)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
