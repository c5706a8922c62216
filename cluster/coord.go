package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"rosetta/engine"
)

// Collection defaults and bounds.
const (
	MaxShards       = 256
	MaxReplicas     = 7
	DefaultReplicas = 2
)

// entryBytes bounds one shard log entry (NATS' default message limit is
// 1 MB; an external cluster may keep it): a batch whose shard part is
// larger is published as several entries.
const entryBytes = 900 << 10

// CreateCollection validates the schema, creates one stream per shard
// and records the collection with its first assignment (the top Replicas
// live data nodes of each shard by rendezvous hash). Shards defaults to
// the number of live data nodes, Replicas to min(2, live data nodes).
func (n *Node) CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error) {
	if n.closed.Load() {
		return engine.Collection{}, engine.ErrClosed
	}
	if n.eng == nil {
		return engine.Collection{}, errNoEngine
	}
	live := n.dataNodes(n.cfg.NodeTTL)
	if len(live) == 0 {
		return engine.Collection{}, fmt.Errorf("%w: no live data node", engine.ErrUnavailable)
	}
	shards, replicas := c.Shards, c.Replicas
	if shards == 0 {
		shards = len(live)
	}
	if replicas == 0 {
		replicas = min(DefaultReplicas, len(live))
	}
	if shards < 1 || shards > MaxShards {
		return engine.Collection{}, fmt.Errorf("%w: shards %d not in 1..%d", engine.ErrInvalid, shards, MaxShards)
	}
	if replicas < 1 || replicas > MaxReplicas {
		return engine.Collection{}, fmt.Errorf("%w: replicas %d not in 1..%d", engine.ErrInvalid, replicas, MaxReplicas)
	}
	if replicas > len(live) {
		return engine.Collection{}, fmt.Errorf("%w: %d replicas asked, %d data nodes live", engine.ErrInvalid, replicas, len(live))
	}
	if len(c.Name) > engine.MaxNameLen-12 {
		return engine.Collection{}, fmt.Errorf("%w: a cluster collection's name has at most %d characters", engine.ErrInvalid, engine.MaxNameLen-12)
	}
	c.Shards, c.Replicas = 0, 0
	c, err := n.eng.CheckSchema(ctx, c)
	if err != nil {
		return engine.Collection{}, err
	}
	if _, err := n.record(c.Name); err == nil {
		return engine.Collection{}, fmt.Errorf("%w: collection %q exists", engine.ErrExists, c.Name)
	}
	c.Created = time.Now().UTC()
	for s := 0; s < shards; s++ {
		_, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: n.streamName(c.Name, s), Subjects: []string{n.subject(c.Name, s)},
			Description: fmt.Sprintf("Rosetta collection %s, shard %d of %d", c.Name, s, shards),
			Storage:     jetstream.FileStorage, Replicas: n.cfg.StreamReplicas,
			Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
			Duplicates: 2 * time.Minute, MaxMsgSize: MaxPayload,
		})
		if err != nil {
			return engine.Collection{}, unavailable(fmt.Sprintf("creating the log of shard %d", s), err)
		}
	}
	r := &collRecord{Schema: c, Shards: shards, Replicas: replicas, Epoch: 1, Inc: strconv.FormatUint(randID()%(36*36*36*36*36*36), 36),
		Serving: make([][]string, shards), Joining: make([][]string, shards)}
	for s := 0; s < shards; s++ {
		r.Serving[s] = rendezvous(c.Name, s, live)[:replicas]
		r.Joining[s] = []string{}
	}
	rev, err := n.meta.Create(ctx, collKey(c.Name), encodeRecord(r))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return engine.Collection{}, fmt.Errorf("%w: collection %q exists", engine.ErrExists, c.Name)
	}
	if err != nil {
		return engine.Collection{}, unavailable("recording the collection", err)
	}
	r.rev = rev
	n.mu.Lock()
	if old := n.colls[c.Name]; old == nil || old.rev < rev {
		n.colls[c.Name] = r
	}
	n.mu.Unlock()
	n.kick()
	return r.view(0), nil
}

// view is the collection as the API shows it.
func (r *collRecord) view(count int) engine.Collection {
	c := r.Schema
	c.Shards, c.Replicas, c.Count = r.Shards, r.Replicas, count
	return c
}

// GetCollection returns the schema and the live object count (summed over
// one replica of each shard).
func (n *Node) GetCollection(ctx context.Context, name string) (engine.Collection, error) {
	r, err := n.record(name)
	if err != nil {
		return engine.Collection{}, err
	}
	st, err := n.collStats(ctx, r)
	if err != nil {
		return engine.Collection{}, err
	}
	return r.view(st.Count), nil
}

// ListCollections lists the cluster's collections; a count a shard
// cannot answer is left out of the sum.
func (n *Node) ListCollections(ctx context.Context) ([]engine.Collection, error) {
	n.mu.RLock()
	recs := make([]*collRecord, 0, len(n.colls))
	for _, r := range n.colls {
		recs = append(recs, r)
	}
	n.mu.RUnlock()
	sort.Slice(recs, func(i, j int) bool { return recs[i].Schema.Name < recs[j].Schema.Name })
	out := make([]engine.Collection, len(recs))
	for i, r := range recs {
		st, _ := n.collStats(ctx, r)
		out[i] = r.view(st.Count)
	}
	return out, nil
}

// DropCollection removes the collection from the map (every replica then
// drops its local shard) and deletes its streams.
func (n *Node) DropCollection(ctx context.Context, name string) error {
	r, err := n.record(name)
	if err != nil {
		return err
	}
	if err := n.meta.Delete(ctx, collKey(name)); err != nil {
		return unavailable("removing the collection", err)
	}
	n.mu.Lock()
	delete(n.colls, name)
	n.mu.Unlock()
	n.kick()
	for s := 0; s < r.Shards; s++ {
		if err := n.js.DeleteStream(ctx, n.streamName(name, s)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			n.log.Warn("deleting a shard log", "collection", name, "shard", s, "err", err)
		}
	}
	return nil
}

// RebuildCollection rebuilds the indexes of every replica.
func (n *Node) RebuildCollection(ctx context.Context, name string) error {
	r, err := n.record(name)
	if err != nil {
		return err
	}
	for s := 0; s < r.Shards; s++ {
		for _, m := range r.Serving[s] {
			if _, err := n.call(ctx, m, rpcRequest{Op: "rebuild", Local: r.local(s)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Upsert writes a batch; see UpsertSequences.
func (n *Node) Upsert(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error) {
	ids, _, err := n.UpsertSequences(ctx, coll, objs)
	return ids, err
}

// UpsertSequences validates and encodes a batch once, gives every object
// its id (its own, else a hash of its key, else a random one), stores kept
// originals in the blob bucket, and publishes each shard's part to the
// shard's stream, returning once JetStream has stored it on a quorum. The
// sequences say where each shard's part is in its log ("shard" → last
// sequence); a search with read_your_writes sees it. Publishing carries a
// Nats-Msg-Id, so a retried publish is stored once. A batch over several
// shards is not atomic: on an error some shards may have it.
func (n *Node) UpsertSequences(ctx context.Context, coll string, objs []engine.Object) ([]uint64, map[string]uint64, error) {
	r, err := n.record(coll)
	if err != nil {
		return nil, nil, err
	}
	if n.eng == nil {
		return nil, nil, errNoEngine
	}
	prep, err := n.eng.Prepare(ctx, r.Schema, objs)
	if err != nil {
		return nil, nil, err
	}
	return n.publishPrepared(ctx, r, prep, "")
}

// publishPrepared writes a prepared batch to the shard logs. msgID, when
// set, names the batch for deduplication (an ingest work item); else
// every publish gets a fresh one.
func (n *Node) publishPrepared(ctx context.Context, r *collRecord, prep engine.Prepared, msgID string) ([]uint64, map[string]uint64, error) {
	ids := make([]uint64, len(prep.Objects))
	parts := map[int][]logObject{}
	for i := range prep.Objects {
		o := &prep.Objects[i]
		if o.ID == 0 {
			if o.Key != "" {
				o.ID = keyID(o.Key)
			} else {
				o.ID = randID()
			}
		}
		ids[i] = o.ID
		s := shardOf(o.ID, r.Shards)
		parts[s] = append(parts[s], toLog(o))
	}
	for sha, b := range prep.Originals {
		if err := n.putBlob(ctx, sha, b); err != nil {
			return nil, nil, err
		}
	}
	if msgID == "" {
		msgID = strconv.FormatUint(randID(), 36)
	}
	seqs, err := n.publishParts(ctx, r, parts, nil, msgID)
	if err != nil {
		return nil, nil, err
	}
	return ids, seqs, nil
}

func (n *Node) putBlob(ctx context.Context, sha string, b []byte) error {
	if info, err := n.blobs.GetInfo(ctx, sha); err == nil && info.Size == uint64(len(b)) {
		return nil
	}
	if _, err := n.blobs.PutBytes(ctx, sha, b); err != nil {
		return unavailable("storing an original in the blob bucket", err)
	}
	return nil
}

// publishParts publishes every shard's objects and deletes, in entries of
// at most entryBytes, concurrently across shards.
func (n *Node) publishParts(ctx context.Context, r *collRecord, ups map[int][]logObject, dels map[int][]uint64, msgID string) (map[string]uint64, error) {
	type result struct {
		shard int
		seq   uint64
		err   error
	}
	shards := map[int]bool{}
	for s := range ups {
		shards[s] = true
	}
	for s := range dels {
		shards[s] = true
	}
	res := make(chan result, len(shards))
	var wg sync.WaitGroup
	for s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := splitEntry(dels[s], ups[s])
			var seq uint64
			for i, e := range entries {
				b, err := jsonMarshal(e)
				if err != nil {
					res <- result{s, 0, err}
					return
				}
				m := nats.NewMsg(n.subject(r.Schema.Name, s))
				m.Data = b
				pctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
				ack, err := n.js.PublishMsg(pctx, m, jetstream.WithMsgID(fmt.Sprintf("%s-%d-%d", msgID, s, i)),
					jetstream.WithExpectStream(n.streamName(r.Schema.Name, s)))
				cancel()
				if err != nil {
					res <- result{s, 0, unavailable(fmt.Sprintf("shard %d's log did not acknowledge the write (no quorum?)", s), err)}
					return
				}
				seq = ack.Sequence
			}
			res <- result{s, seq, nil}
		}()
	}
	wg.Wait()
	close(res)
	seqs := map[string]uint64{}
	var errs []error
	for x := range res {
		if x.err != nil {
			errs = append(errs, x.err)
			continue
		}
		seqs[strconv.Itoa(x.shard)] = x.seq
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return seqs, nil
}

// splitEntry cuts a shard's part of a batch into entries of at most
// entryBytes (deletes go in the first).
func splitEntry(dels []uint64, ups []logObject) []entry {
	out := []entry{{Deletes: dels}}
	size := 16 + 21*len(dels)
	for _, u := range ups {
		sz := u.size() + 1
		if size+sz > entryBytes && len(out[len(out)-1].Upserts) > 0 {
			out = append(out, entry{})
			size = 16
		}
		cur := &out[len(out)-1]
		cur.Upserts = append(cur.Upserts, u)
		size += sz
	}
	return out
}

// GetObject reads an object from a replica of its shard.
func (n *Node) GetObject(ctx context.Context, coll string, id uint64) (engine.Object, error) {
	r, err := n.record(coll)
	if err != nil {
		return engine.Object{}, err
	}
	resp, err := n.callShard(ctx, r, shardOf(id, r.Shards), rpcRequest{Op: "get", ID: id})
	if err != nil {
		return engine.Object{}, err
	}
	return *resp.Object, nil
}

// ListObjects pages through the objects in id order, merging the shards.
func (n *Node) ListObjects(ctx context.Context, coll string, after uint64, limit int) ([]engine.Object, error) {
	r, err := n.record(coll)
	if err != nil {
		return nil, err
	}
	var all []engine.Object
	for s := 0; s < r.Shards; s++ {
		resp, err := n.callShard(ctx, r, s, rpcRequest{Op: "list", After: after, Limit: limit})
		if err != nil {
			return nil, err
		}
		all = append(all, resp.Objects...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// DeleteObject deletes an object: ErrNotFound unless a replica of its
// shard has it, else a delete entry in the shard's log.
func (n *Node) DeleteObject(ctx context.Context, coll string, id uint64) error {
	r, err := n.record(coll)
	if err != nil {
		return err
	}
	if _, err := n.GetObject(ctx, coll, id); err != nil {
		return err
	}
	s := shardOf(id, r.Shards)
	_, err = n.publishParts(ctx, r, nil, map[int][]uint64{s: {id}}, strconv.FormatUint(randID(), 36))
	return err
}

// SearchPage scatters the query to one live replica of every shard (each
// asked for the first offset+k hits) and merges their hits by score. With
// read_your_writes every replica first applies its log up to the end it
// had when the search began. Each shard ranks keyword (BM25) hits by its
// own statistics, and fuses hybrid lists by itself; see docs/cluster.md.
func (n *Node) SearchPage(ctx context.Context, coll string, req engine.SearchRequest) (engine.Page, error) {
	r, err := n.record(coll)
	if err != nil {
		return engine.Page{}, err
	}
	if err := engine.CheckConsistency(req.Consistency); err != nil {
		return engine.Page{}, err
	}
	if req.K == 0 {
		req.K = engine.DefaultK
	}
	if req.K < 0 || req.Offset < 0 || req.Offset+req.K > engine.MaxK {
		return engine.Page{}, fmt.Errorf("%w: k %d and offset %d: want k ≥ 1 and offset+k ≤ %d", engine.ErrInvalid, req.K, req.Offset, engine.MaxK)
	}
	space := req.Space
	if space == "" && len(r.Schema.Spaces) == 1 {
		space = r.Schema.Spaces[0].Name
	}
	if req.Query.Object != nil {
		o, err := n.GetObject(ctx, coll, *req.Query.Object)
		if err != nil {
			return engine.Page{}, err
		}
		v, ok := o.Vectors[space]
		if !ok {
			return engine.Page{}, fmt.Errorf("%w: object %d has no vector in space %q", engine.ErrInvalid, *req.Query.Object, space)
		}
		req.Query.Object, req.Query.Vector = nil, v
	}
	ascending := false
	for _, s := range r.Schema.Spaces {
		if s.Name == space && s.Metric == "l2" && req.Mode != engine.ModeKeyword {
			ascending = true // an l2 score is a distance
		}
	}
	shardReq := req
	shardReq.Offset, shardReq.K = 0, req.Offset+req.K
	shardReq.Consistency = ""
	type result struct {
		page *engine.Page
		err  error
	}
	results := make([]result, r.Shards)
	var wg sync.WaitGroup
	for s := 0; s < r.Shards; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var minSeq uint64
			if req.Consistency == engine.ConsistencyReadYourWrites {
				if minSeq = n.lastSeq(ctx, coll, s); minSeq == ^uint64(0) {
					results[s].err = fmt.Errorf("%w: cannot read the end of shard %d's log for read_your_writes", engine.ErrUnavailable, s)
					return
				}
			}
			resp, err := n.callShard(ctx, r, s, rpcRequest{Op: "search", Search: &shardReq, MinSeq: minSeq})
			if err != nil {
				results[s].err = err
				return
			}
			results[s].page = resp.Page
		}()
	}
	wg.Wait()
	var hits []engine.Hit
	more := false
	out := engine.Page{Mode: req.Mode}
	for _, x := range results {
		if x.err != nil {
			return engine.Page{}, x.err
		}
		hits = append(hits, x.page.Hits...)
		more = more || x.page.NextOffset != nil
		out.Ef = max(out.Ef, x.page.Ef)
		if out.Mode == "" {
			out.Mode = x.page.Mode
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.RerankScore != nil && b.RerankScore != nil && *a.RerankScore != *b.RerankScore {
			return *a.RerankScore > *b.RerankScore
		}
		if a.Score != b.Score {
			if ascending {
				return a.Score < b.Score
			}
			return a.Score > b.Score
		}
		return a.ID < b.ID
	})
	end := req.Offset + req.K
	if len(hits) > end || more {
		out.NextOffset = &end
	}
	out.Hits = hits[min(req.Offset, len(hits)):min(end, len(hits))]
	return out, nil
}

// Health is nil while the node is connected to NATS and its engine is
// healthy.
func (n *Node) Health() error {
	if n.closed.Load() {
		return engine.ErrClosed
	}
	if !n.nc.IsConnected() {
		return fmt.Errorf("%w: not connected to NATS", engine.ErrUnavailable)
	}
	if n.eng == nil {
		return nil
	}
	return n.eng.Health()
}

// Stats are the local engine's (its shard replicas').
func (n *Node) Stats() engine.Stats {
	if n.eng == nil {
		return engine.Stats{}
	}
	return n.eng.Stats()
}

// errNoEngine: a client node (RoleClient) neither encodes nor validates.
var errNoEngine = fmt.Errorf("%w: this cluster client has no engine to encode with", engine.ErrUnsupported)

// CollectionStats sums the counts of one replica of each shard; the
// index and keyword figures are shard 0's.
func (n *Node) CollectionStats(ctx context.Context, name string) (engine.CollectionStats, error) {
	r, err := n.record(name)
	if err != nil {
		return engine.CollectionStats{}, err
	}
	return n.collStats(ctx, r)
}

func (n *Node) collStats(ctx context.Context, r *collRecord) (engine.CollectionStats, error) {
	var out engine.CollectionStats
	for s := 0; s < r.Shards; s++ {
		resp, err := n.callShard(ctx, r, s, rpcRequest{Op: "stats"})
		if err != nil {
			return engine.CollectionStats{}, err
		}
		st := resp.Stats
		if s == 0 {
			out = *st
			out.Modalities = map[string]int{}
			out.Count = 0
		}
		out.Count += st.Count
		out.Segments += st.Segments
		for m, c := range st.Modalities {
			out.Modalities[m] += c
		}
	}
	out.Collection = r.view(out.Count)
	return out, nil
}

// OpenSource forwards the media of an object from a replica of its shard
// (files up to ~6 MB; see rpc.go).
func (n *Node) OpenSource(ctx context.Context, coll string, id uint64) (*engine.Source, error) {
	r, err := n.record(coll)
	if err != nil {
		return nil, err
	}
	resp, err := n.callShard(ctx, r, shardOf(id, r.Shards), rpcRequest{Op: "media", ID: id})
	if err != nil {
		return nil, err
	}
	return tempSource(resp)
}

// OpenStill forwards the still image of an object (engine.OpenStill) as
// OpenSource forwards its media.
func (n *Node) OpenStill(ctx context.Context, coll string, id uint64) (*engine.Source, error) {
	r, err := n.record(coll)
	if err != nil {
		return nil, err
	}
	resp, err := n.callShard(ctx, r, shardOf(id, r.Shards), rpcRequest{Op: "still", ID: id})
	if err != nil {
		return nil, err
	}
	return tempSource(resp)
}
