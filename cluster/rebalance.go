package cluster

import (
	"context"
	"time"
)

const leaseKey = "rebalance"

// rebalanceLoop holds (or waits for) the rebalancing lease and, while it
// holds it, adjusts every collection's shard assignment to the live data
// nodes once a second. The lease is a KV key created only if absent and
// renewed by compare-and-set on its revision; it expires (bucket TTL)
// when its holder stops renewing. Two nodes believing they hold it can
// only contend, not corrupt: every assignment change is itself a
// compare-and-set on the collection record's revision.
func (n *Node) rebalanceLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.HeartbeatEvery)
	defer t.Stop()
	var rev uint64
	for {
		select {
		case <-n.ctx.Done():
			if rev != 0 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				n.lease.Delete(ctx, leaseKey) // hand it over at once
				cancel()
			}
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.HeartbeatEvery*2)
		var err error
		if rev != 0 {
			rev, err = n.lease.Update(ctx, leaseKey, []byte(n.cfg.Node), rev)
		} else {
			rev, err = n.lease.Create(ctx, leaseKey, []byte(n.cfg.Node))
		}
		cancel()
		if err != nil {
			rev = 0
		}
		n.leader.Store(rev != 0)
		if rev != 0 {
			// The work has its own bound: a busy cluster answers the reads
			// and the compare-and-set slower than a heartbeat.
			ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
			n.rebalance(ctx)
			cancel()
		}
	}
}

// rebalance computes each collection's assignment from the data nodes
// present (seen within MoveAfter): each shard's replicas are the top
// Replicas nodes by rendezvous hash. A node new to a shard joins (replays
// the log, does not serve); once its applied sequence is within
// CatchUpLag of the log's end it serves; a node the shard no longer wants
// leaves only when enough wanted nodes serve. A node down for less than
// MoveAfter keeps its replicas (it gets no searches while down).
func (n *Node) rebalance(ctx context.Context) {
	present := n.dataNodes(n.cfg.MoveAfter)
	if len(present) == 0 {
		return
	}
	// Read the records afresh: the watcher may lag, and a stale revision
	// only loses the compare-and-set.
	n.refresh(n.meta, n.putColl)
	n.mu.RLock()
	recs := make([]*collRecord, 0, len(n.colls))
	for _, r := range n.colls {
		recs = append(recs, r)
	}
	applied := map[string]map[string]uint64{}
	for name, p := range n.peers {
		applied[name] = p.Applied
	}
	n.mu.RUnlock()
	for _, r := range recs {
		nr := r.clone()
		changed := false
		for s := 0; s < r.Shards; s++ {
			want := rendezvous(r.Schema.Name, s, present)[:min(r.Replicas, len(present))]
			serving, joining := nr.Serving[s], nr.Joining[s]
			for _, w := range want {
				if !contains(serving, w) && !contains(joining, w) {
					joining = append(joining, w)
					changed = true
				}
			}
			var last uint64
			if len(joining) > 0 {
				last = n.lastSeq(ctx, r.Schema.Name, s)
			}
			for _, j := range joining {
				if !contains(want, j) {
					joining = remove(joining, j)
					changed = true
					continue
				}
				if last != ^uint64(0) && n.live(j) && applied[j][shardID(r.Schema.Name, s)]+n.cfg.CatchUpLag >= last {
					joining = remove(joining, j)
					serving = append(serving, j)
					changed = true
				}
			}
			good := 0
			for _, m := range serving {
				if contains(want, m) && n.live(m) {
					good++
				}
			}
			for _, m := range serving {
				if !contains(want, m) && good >= len(want) {
					serving = remove(serving, m)
					changed = true
				}
			}
			nr.Serving[s], nr.Joining[s] = serving, joining
		}
		if !changed {
			continue
		}
		nr.Epoch++
		if _, err := n.meta.Update(ctx, collKey(r.Schema.Name), encodeRecord(nr), r.rev); err != nil {
			n.log.Warn("shard map update lost a race", "collection", r.Schema.Name, "err", err)
			continue
		}
		n.log.Info("shard map changed", "collection", r.Schema.Name, "epoch", nr.Epoch, "serving", nr.Serving, "joining", nr.Joining)
	}
}

// lastSeq is a shard stream's last sequence, ^0 when it cannot be read.
func (n *Node) lastSeq(ctx context.Context, coll string, shard int) uint64 {
	st, err := n.js.Stream(ctx, n.streamName(coll, shard))
	if err != nil {
		return ^uint64(0)
	}
	return st.CachedInfo().State.LastSeq // js.Stream just fetched it
}
