package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"rosetta/engine"
)

// A coordinator asks a replica over NATS request/reply, on the subject
// rosetta.<cluster>.rpc.<node>. Requests and answers are JSON.
type rpcRequest struct {
	Op    string `json:"op"` // search, get, list, stats, media, rebuild
	Local string `json:"local"`
	// MinSeq: answer only once the replica has applied this entry.
	MinSeq uint64                `json:"min_seq,omitempty"`
	Search *engine.SearchRequest `json:"search,omitempty"`
	ID     uint64                `json:"id,omitempty"`
	After  uint64                `json:"after,omitempty"`
	Limit  int                   `json:"limit,omitempty"`
}

type rpcResponse struct {
	Err     string                  `json:"err,omitempty"`
	Kind    string                  `json:"kind,omitempty"` // the engine sentinel the error wraps
	Page    *engine.Page            `json:"page,omitempty"`
	Object  *engine.Object          `json:"object,omitempty"`
	Objects []engine.Object         `json:"objects,omitempty"`
	Stats   *engine.CollectionStats `json:"stats,omitempty"`
	Media   []byte                  `json:"media,omitempty"`
	Name    string                  `json:"name,omitempty"`
	ModTime time.Time               `json:"mod_time,omitempty"`
}

// sentinels are the engine errors that cross the wire by name, so the
// coordinator answers with the replica's status code.
var sentinels = []struct {
	kind string
	err  error
}{
	{"not_found", engine.ErrNotFound}, {"invalid", engine.ErrInvalid}, {"too_large", engine.ErrTooLarge},
	{"unsupported", engine.ErrUnsupported}, {"forbidden", engine.ErrForbidden}, {"busy", engine.ErrBusy},
	{"not_ready", engine.ErrNotReady}, {"unavailable", engine.ErrUnavailable}, {"disk_full", engine.ErrDiskFull},
	{"closed", engine.ErrClosed},
}

func errResponse(err error) rpcResponse {
	r := rpcResponse{Err: engine.Message(err)}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			r.Kind = s.kind
			break
		}
	}
	return r
}

func (r *rpcResponse) error() error {
	if r.Err == "" {
		return nil
	}
	for _, s := range sentinels {
		if s.kind == r.Kind {
			return fmt.Errorf("%w: %s", s.err, r.Err)
		}
	}
	return errors.New(r.Err)
}

// serveRPC answers a coordinator, each request on its own goroutine.
func (n *Node) serveRPC(m *nats.Msg) {
	go func() {
		var req rpcRequest
		var resp rpcResponse
		if err := json.Unmarshal(m.Data, &req); err != nil {
			resp = errResponse(fmt.Errorf("%w: bad request: %v", engine.ErrInvalid, err))
		} else {
			ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout+n.cfg.WaitApplied)
			resp = n.answer(ctx, &req)
			cancel()
		}
		b, err := json.Marshal(resp)
		if err == nil && len(b) > MaxPayload-1024 {
			b, _ = json.Marshal(errResponse(fmt.Errorf("%w: the answer is %d bytes, over the %d-byte message limit", engine.ErrTooLarge, len(b), MaxPayload)))
		}
		m.Respond(b)
	}()
}

func (n *Node) answer(ctx context.Context, req *rpcRequest) rpcResponse {
	// A replica the map gives this node a moment ago may still be being
	// created: wait for it a little.
	deadline := time.Now().Add(n.cfg.RequestTimeout / 2)
	for {
		n.mu.RLock()
		rep := n.replicas[req.Local]
		n.mu.RUnlock()
		if rep != nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errResponse(fmt.Errorf("%w: node %s holds no replica %s", engine.ErrUnavailable, n.cfg.Node, req.Local))
		}
		n.kick()
		time.Sleep(20 * time.Millisecond)
	}
	if err := n.waitApplied(ctx, req.Local, req.MinSeq); err != nil {
		return errResponse(err)
	}
	switch req.Op {
	case "search":
		if req.Search == nil {
			return errResponse(fmt.Errorf("%w: no search", engine.ErrInvalid))
		}
		p, err := n.eng.SearchPage(ctx, req.Local, *req.Search)
		if err != nil {
			return errResponse(err)
		}
		return rpcResponse{Page: &p}
	case "get":
		o, err := n.eng.GetObject(ctx, req.Local, req.ID)
		if err != nil {
			return errResponse(err)
		}
		return rpcResponse{Object: &o}
	case "list":
		objs, err := n.eng.ListObjects(ctx, req.Local, req.After, req.Limit)
		if err != nil {
			return errResponse(err)
		}
		return rpcResponse{Objects: objs}
	case "stats":
		st, err := n.eng.CollectionStats(ctx, req.Local)
		if err != nil {
			return errResponse(err)
		}
		return rpcResponse{Stats: &st}
	case "rebuild":
		if err := n.eng.RebuildCollection(ctx, req.Local); err != nil {
			return errResponse(err)
		}
		return rpcResponse{}
	case "media", "still":
		open := n.eng.OpenSource
		if req.Op == "still" {
			open = n.eng.OpenStill
		}
		src, err := open(ctx, req.Local, req.ID)
		if err != nil {
			return errResponse(err)
		}
		defer src.File.Close()
		if src.Info.Size() > MaxPayload*3/4-4096 {
			return errResponse(fmt.Errorf("%w: the file is %d bytes; a cluster forwards media up to %d", engine.ErrTooLarge, src.Info.Size(), MaxPayload*3/4-4096))
		}
		b, err := io.ReadAll(src.File)
		if err != nil {
			return errResponse(fmt.Errorf("%w: %v", engine.ErrUnavailable, err))
		}
		return rpcResponse{Media: b, Name: src.Info.Name(), ModTime: src.Info.ModTime(), Object: &src.Object}
	}
	return errResponse(fmt.Errorf("%w: unknown op %q", engine.ErrInvalid, req.Op))
}

// call sends a request to one node's replica and decodes its answer.
func (n *Node) call(ctx context.Context, node string, req rpcRequest) (*rpcResponse, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	timeout := n.cfg.RequestTimeout
	if req.MinSeq != 0 {
		timeout += n.cfg.WaitApplied
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := n.nc.RequestWithContext(ctx, n.rpcSubject(node), b)
	if err != nil {
		return nil, fmt.Errorf("%w: node %s: %v", engine.ErrUnavailable, node, err)
	}
	var resp rpcResponse
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return nil, fmt.Errorf("%w: node %s answered: %v", engine.ErrUnavailable, node, err)
	}
	if err := resp.error(); err != nil {
		return nil, err
	}
	return &resp, nil
}

// retriable is a replica error another replica may not have.
func retriable(err error) bool {
	return errors.Is(err, engine.ErrUnavailable) || errors.Is(err, engine.ErrNotReady) || errors.Is(err, engine.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded)
}

// candidates orders a shard's serving replicas for one request: live ones
// only, this node first when it serves the shard, the others rotated so
// load spreads.
func (n *Node) candidates(r *collRecord, shard int) []string {
	serving := r.Serving[shard]
	var out []string
	start := int(n.rr.Add(1))
	for i := range serving {
		m := serving[(start+i)%len(serving)]
		if !n.live(m) {
			continue
		}
		if m == n.cfg.Node {
			out = append([]string{m}, out...)
		} else {
			out = append(out, m)
		}
	}
	return out
}

// callShard asks the shard's replicas in turn until one answers with
// something other than an availability error.
func (n *Node) callShard(ctx context.Context, r *collRecord, shard int, req rpcRequest) (*rpcResponse, error) {
	req.Local = r.local(shard)
	cands := n.candidates(r, shard)
	if len(cands) == 0 {
		// Every replica looks down: a heartbeat may just be late (a node
		// that restarted a moment ago). Ask them anyway before giving up.
		cands = r.Serving[shard]
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no live replica serves shard %d of %q (its replicas %v are down; joining: %v)", engine.ErrUnavailable, shard, r.Schema.Name, r.Serving[shard], r.Joining[shard])
	}
	var last error
	for _, node := range cands {
		resp, err := n.call(ctx, node, req)
		if err == nil {
			return resp, nil
		}
		last = err
		if !retriable(err) || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, last
}

// tempSource turns forwarded media bytes into a Source: an unlinked
// temporary file, removed when closed.
func tempSource(resp *rpcResponse) (*engine.Source, error) {
	f, err := os.CreateTemp("", "rosetta-media-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", engine.ErrUnavailable, err)
	}
	os.Remove(f.Name())
	if _, err := f.Write(resp.Media); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", engine.ErrUnavailable, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	src := &engine.Source{File: f, Info: namedInfo{fi, resp.Name, resp.ModTime}, Path: resp.Name}
	if resp.Object != nil {
		src.Object = *resp.Object
	}
	return src, nil
}

type namedInfo struct {
	os.FileInfo
	name string
	mod  time.Time
}

func (i namedInfo) Name() string       { return i.name }
func (i namedInfo) ModTime() time.Time { return i.mod }
