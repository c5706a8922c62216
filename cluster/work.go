package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"rosetta/engine"
)

// Distributed ingest: `rosetta ingest --cluster` stores each file's bytes
// in the blob bucket and publishes a work item naming them to the work
// stream (a JetStream work queue); `rosetta serve --role encoder` workers
// pull items, encode them with their own models, publish the results to
// the shard streams and only then acknowledge the item. A worker killed
// mid-item never acknowledges it: JetStream redelivers it (after AckWait)
// to a worker, whose publishes carry the item's Nats-Msg-Id and are
// dropped as duplicates if the first worker's got through; objects are
// keyed by file, so a late repeat rewrites the same object, never a
// second one.

// workItem is one batch of objects to encode.
type workItem struct {
	Collection string       `json:"collection"`
	Objects    []workObject `json:"objects"`
}

// workObject is an object to encode: its fields as in a log entry (the
// text content inline), its image or audio bytes by blob name.
type workObject struct {
	logObject
	Image string `json:"image,omitempty"`
	Audio string `json:"audio,omitempty"`
	Keep  bool   `json:"keep,omitempty"`
}

func (n *Node) workStream() string  { return "RS-" + n.cfg.Name + "-work" }
func (n *Node) workSubject() string { return "rosetta." + n.cfg.Name + ".work" }

// WorkAckWait is how long a worker may hold an item before JetStream
// gives it to another (the encode of one batch must fit).
const WorkAckWait = 60 * time.Second

func (n *Node) ensureWorkStream(ctx context.Context) error {
	_, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: n.workStream(), Subjects: []string{n.workSubject()},
		Description: "Rosetta ingest work items (encode, then write to the shard logs)",
		Storage:     jetstream.FileStorage, Replicas: n.cfg.StreamReplicas,
		Retention: jetstream.WorkQueuePolicy, Duplicates: 2 * time.Minute, MaxMsgSize: MaxPayload,
	})
	return err
}

// SubmitWork queues objects for the encoder workers (distributed
// ingest): media bytes go to the blob bucket, the item names them. It
// returns the ids the objects will have (their own, else the hash of
// their key; objects need one or the other) once the work stream holds
// the item on a quorum.
func (n *Node) SubmitWork(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error) {
	if _, err := n.record(coll); err != nil {
		return nil, err
	}
	if len(objs) == 0 || len(objs) > engine.MaxBatch {
		return nil, fmt.Errorf("%w: %d objects in a work item; send 1 to %d", engine.ErrInvalid, len(objs), engine.MaxBatch)
	}
	item := workItem{Collection: coll}
	ids := make([]uint64, len(objs))
	h := sha256.New()
	for i := range objs {
		o := &objs[i]
		w := workObject{logObject: toLog(o)}
		w.Blob, w.Updated = "", time.Time{}
		if w.ID == 0 {
			if w.Key == "" {
				return nil, fmt.Errorf("%w: objects[%d]: a work item's objects need an id or a key", engine.ErrInvalid, i)
			}
			w.ID = keyID(w.Key)
		}
		ids[i] = w.ID
		if ct := o.Content; ct != nil {
			w.Keep = ct.Keep
			for _, m := range []struct {
				b   []byte
				dst *string
			}{{ct.Image, &w.Image}, {ct.Audio, &w.Audio}} {
				if len(m.b) == 0 {
					continue
				}
				s := sha256.Sum256(m.b)
				sha := hex.EncodeToString(s[:])
				if err := n.putBlob(ctx, sha, m.b); err != nil {
					return nil, err
				}
				*m.dst = sha
			}
		}
		fmt.Fprintf(h, "%d/%s/%s/%s/%s;", w.ID, w.Key, w.Hash, w.Image, w.Audio)
		item.Objects = append(item.Objects, w)
	}
	b, err := jsonMarshal(item)
	if err != nil {
		return nil, err
	}
	if len(b) > entryBytes {
		return nil, fmt.Errorf("%w: a work item of %d bytes; the limit is %d (send fewer objects)", engine.ErrTooLarge, len(b), entryBytes)
	}
	if err := n.ensureWorkStream(ctx); err != nil {
		return nil, unavailable("the work stream", err)
	}
	m := nats.NewMsg(n.workSubject())
	m.Data = b
	pctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	// The item's id is its content's: a re-run of the same ingest within
	// the duplicate window queues nothing new.
	if _, err := n.js.PublishMsg(pctx, m, jetstream.WithMsgID("work-"+hex.EncodeToString(h.Sum(nil))[:32])); err != nil {
		return nil, unavailable("queuing the work item", err)
	}
	return ids, nil
}

// workLoop is an encoder's: pull an item, encode it, publish it to the
// shard logs, acknowledge it.
func (n *Node) workLoop() {
	defer n.wg.Done()
	var cons jetstream.Consumer
	for n.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
		err := n.ensureWorkStream(ctx)
		if err == nil {
			cons, err = n.js.CreateOrUpdateConsumer(ctx, n.workStream(), jetstream.ConsumerConfig{
				Durable: "encoders", AckPolicy: jetstream.AckExplicitPolicy, AckWait: n.cfg.WorkAckWait,
				MaxAckPending: 64, DeliverPolicy: jetstream.DeliverAllPolicy})
		}
		cancel()
		if err == nil {
			break
		}
		n.log.Warn("encoder: waiting for the work stream", "err", err)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	for n.ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		for m := range batch.Messages() {
			n.work(m)
		}
	}
}

// work encodes and writes one item; a failure that another try could
// mend (a replica or the log unreachable, the model busy) leaves it
// unacknowledged for redelivery; an item that can never succeed is
// terminated and logged.
func (n *Node) work(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		m.Nak()
		return
	}
	log := n.log.With("work_seq", md.Sequence.Stream, "delivered", md.NumDelivered)
	var item workItem
	if err := jsonUnmarshal(m.Data(), &item); err != nil {
		log.Error("encoder: undecodable work item: dropped", "err", err)
		m.Term()
		return
	}
	err = n.encodeItem(n.ctx, &item, "work-"+strconv.FormatUint(md.Sequence.Stream, 10))
	if n.ctx.Err() != nil {
		// Stopping: leave the item to be redelivered (as a kill would).
		return
	}
	switch {
	case err == nil:
		if err := m.DoubleAck(n.ctx); err != nil {
			log.Warn("encoder: acknowledging a done item", "err", err)
		}
		n.itemsDone.Add(1)
	case errors.Is(err, engine.ErrInvalid) || errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrUnsupported) || errors.Is(err, engine.ErrTooLarge):
		log.Error("encoder: work item refused: dropped", "collection", item.Collection, "err", err)
		m.Term()
	default:
		log.Warn("encoder: work item failed, to be retried", "collection", item.Collection, "err", err)
		m.NakWithDelay(time.Second)
	}
}

func (n *Node) encodeItem(ctx context.Context, item *workItem, msgID string) error {
	if testHookWork != nil {
		testHookWork(ctx, n.cfg.Node)
	}
	r, err := n.record(item.Collection)
	if err != nil {
		return err
	}
	objs := make([]engine.Object, len(item.Objects))
	for i, w := range item.Objects {
		o, err := w.object()
		if err != nil {
			return fmt.Errorf("%w: objects[%d]: %v", engine.ErrInvalid, i, err)
		}
		if o.Content != nil || w.Image != "" || w.Audio != "" {
			o.Content = &engine.Content{Text: w.Content, Keep: w.Keep}
			for _, x := range []struct {
				sha string
				dst *[]byte
			}{{w.Image, &o.Content.Image}, {w.Audio, &o.Content.Audio}} {
				if x.sha == "" {
					continue
				}
				b, err := n.fetchBlob(x.sha)
				if err != nil {
					return unavailable("reading a work item's file from the blob bucket", err)
				}
				*x.dst = b
			}
		}
		objs[i] = o
	}
	prep, err := n.eng.Prepare(engine.Trusted(ctx), r.Schema, objs)
	if err != nil {
		return err
	}
	_, _, err = n.publishPrepared(ctx, r, prep, msgID)
	return err
}

// testHookWork, when set by a test, runs before a worker encodes an item.
var testHookWork func(ctx context.Context, node string)
