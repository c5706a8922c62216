package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"
)

// Batching across requests. A busy server gets many small encodes at once
// (a search's one text or image, an upsert of one object); one forward pass
// over them all costs much less than one each. Per model and medium, a
// batcher gathers them:
//
//   - an encode that finds no other of its model and medium running or
//     gathering runs at once, on its caller's goroutine: an idle server
//     adds no latency;
//   - otherwise the first caller opens a batch and later ones join it,
//     until EncodeBatchWait has passed since it opened or it holds
//     EncodeBatchMax inputs; it is then sealed and run by one goroutine, in
//     one encode slot (Limits.Encodes still bounds the passes at once), and
//     each caller gets its own rows;
//   - a request of EncodeBatchMax inputs or more runs on its own.
//
// A caller whose context ends leaves at once; its inputs are dropped if the
// batch has not started (and its image pixels given back to the budget),
// and the batch is cancelled if nobody is left. If the batched call fails,
// each caller's inputs are encoded again on their own, so one bad input
// fails only its own request. Encoders give every input the same bits
// alone as in a batch (kernels' GemmPacked rows do not depend on the row
// count), so batching changes no vector.

// Defaults of Options.EncodeBatchWait and EncodeBatchMax.
const (
	DefaultEncodeBatchWait = 2 * time.Millisecond
	DefaultEncodeBatchMax  = 8
)

// BatchSizer is implemented by encoders that know how many inputs one
// forward pass should take (*clip.Encoder): the default batch size of the
// batcher of each medium.
type BatchSizer interface {
	BatchSizes() (images, texts int)
}

// EncodeBatchBuckets are the upper bounds of the batch-size histogram of
// EncodeBatchStats.Sizes; a last bucket counts larger calls.
var EncodeBatchBuckets = [...]int{1, 2, 4, 8, 16, 32, 64}

// EncodeBatchStats describe the encoder calls of one model and medium made
// for requests (queries, upserts, transcripts), batched or not.
type EncodeBatchStats struct {
	Model, Medium string
	// Calls and Inputs count the encoder calls and the inputs they took;
	// Sizes[i] counts the calls of at most EncodeBatchBuckets[i] inputs
	// (and above the previous bound), the last element those above all.
	Calls, Inputs uint64
	Sizes         []uint64
	// Batched counts the calls that gathered more than one request, and
	// Fallbacks those batched calls that failed and were redone request by
	// request.
	Batched, Fallbacks uint64
}

// batchStats is a batcher's live counters.
type batchStats struct {
	calls, inputs, batched, fallbacks atomic.Uint64
	sizes                             [len(EncodeBatchBuckets) + 1]atomic.Uint64
}

func (s *batchStats) record(n int) {
	s.calls.Add(1)
	s.inputs.Add(uint64(n))
	i := 0
	for i < len(EncodeBatchBuckets) && n > EncodeBatchBuckets[i] {
		i++
	}
	s.sizes[i].Add(1)
}

// batcher gathers the small encodes of one model and medium (T is string
// for texts, image.Image for images).
type batcher[T any] struct {
	model, medium string
	max           int           // inputs per call
	wait          time.Duration // <0: no batching
	// slot takes an encode slot (counting one refusal when the budget
	// stays full); refused counts the further requests a refusal of a
	// batch's slot fails. call is the encoder.
	slot    func(ctx context.Context) (func(), error)
	refused func(n uint64)
	call    func(ctx context.Context, in []T) ([][]float32, error)
	stats   batchStats

	mu     sync.Mutex // guards open, active and every batch's fields
	open   *batch[T]  // gathering; nil when none
	active int        // calls of this batcher running or waiting for a slot: direct ones and sealed batches
}

// batch is one gathering or sealed batch.
type batch[T any] struct {
	parts   []*part[T]
	n       int  // inputs of parts
	live    int  // parts whose caller is still waiting
	sealed  bool // taking no more parts
	firing  bool // its wait is over and its runner (counted active) waits for a slot; it takes parts until then
	started bool // the inputs went to the encoder
	timer   *time.Timer
	cancel  context.CancelFunc // of the call's context; set once sealed and running
}

// part is one caller's share of a batch.
type part[T any] struct {
	ctx     context.Context
	in      []T
	release func() // gives back what in holds (pixels); nil for none
	left    bool
	done    chan struct{} // closed once vecs and err are set
	vecs    [][]float32
	err     error
}

// embed encodes in, alone or in a batch with other callers' inputs, and
// returns one vector per input. It owns release (which may be nil): it is
// called once nothing references in any more, whether the caller stays or
// leaves. The rows returned are the caller's (they may share a backing
// array with other callers' rows, never overlapping).
func (b *batcher[T]) embed(ctx context.Context, in []T, release func()) ([][]float32, error) {
	if release == nil {
		release = func() {}
	}
	if b.wait < 0 {
		return b.direct(ctx, in, release)
	}
	b.mu.Lock()
	bt := b.open
	if (bt == nil && b.active == 0) || len(in) >= b.max || len(in) == 0 {
		// Alone, or too big to share: run now. Callers arriving meanwhile
		// gather behind this call.
		b.active++
		b.mu.Unlock()
		defer func() {
			b.mu.Lock()
			b.active--
			b.mu.Unlock()
		}()
		return b.direct(ctx, in, release)
	}
	if bt != nil && bt.n+len(in) > b.max {
		if bt.firing { // its runner takes it as it is
			b.closeLocked(bt)
		} else {
			b.sealLocked(bt)
			go b.run(bt)
		}
		bt = nil
	}
	if bt == nil {
		bt = &batch[T]{}
		b.open = bt
		bt.timer = time.AfterFunc(b.wait, func() { b.fire(bt) })
	}
	p := &part[T]{ctx: ctx, in: in, release: release, done: make(chan struct{})}
	bt.parts = append(bt.parts, p)
	bt.n += len(in)
	bt.live++
	full := bt.n >= b.max
	if full && bt.firing {
		b.closeLocked(bt)
		full = false // its runner has it
	} else if full {
		b.sealLocked(bt)
	}
	b.mu.Unlock()
	if full {
		go b.run(bt)
	}
	select {
	case <-p.done:
		return p.vecs, p.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-p.done: // delivered while we gave up
		b.mu.Unlock()
		return p.vecs, p.err
	default:
	}
	p.left = true
	bt.live--
	var rel func()
	if !bt.started { // nothing will read the inputs: drop them, make room
		bt.n -= len(p.in)
		p.in, rel = nil, p.release
		p.release = nil
	}
	if bt.live == 0 && bt.cancel != nil {
		b.closeLocked(bt) // a firing batch: nobody may join a cancelled call
		bt.cancel()
	}
	b.mu.Unlock()
	if rel != nil {
		rel()
	}
	return nil, ctx.Err()
}

// direct runs one call for one caller, on its goroutine.
func (b *batcher[T]) direct(ctx context.Context, in []T, release func()) ([][]float32, error) {
	defer release()
	rel, err := b.slot(ctx)
	if err != nil {
		return nil, err
	}
	defer rel()
	b.stats.record(len(in))
	return b.call(ctx, in)
}

// sealLocked closes bt to new parts; the caller then runs it.
func (b *batcher[T]) sealLocked(bt *batch[T]) {
	b.closeLocked(bt)
	b.active++
}

// closeLocked closes bt to new parts (again, harmlessly).
func (b *batcher[T]) closeLocked(bt *batch[T]) {
	bt.sealed = true
	bt.timer.Stop()
	if b.open == bt {
		b.open = nil
	}
}

// fire seals bt when its wait is over, unless it filled up first.
//
// The batch stays open while its runner waits for an encode slot (every
// slot busy with earlier calls): callers arriving meanwhile join it at no
// cost in latency, so a busy server's batches grow to what arrives during
// a forward pass, not during the wait alone. It closes once the slot is
// taken, or when it fills.
func (b *batcher[T]) fire(bt *batch[T]) {
	b.mu.Lock()
	if bt.sealed || bt.firing {
		b.mu.Unlock()
		return
	}
	bt.firing = true
	b.active++
	b.mu.Unlock()
	b.run(bt)
}

// run encodes a sealed batch and hands each waiting caller its rows.
func (b *batcher[T]) run(bt *batch[T]) {
	ctx, cancel := context.WithCancel(context.Background())
	var parts []*part[T]
	defer func() {
		cancel()
		for _, p := range parts {
			p.release()
		}
		b.mu.Lock()
		b.active--
		b.mu.Unlock()
	}()
	b.mu.Lock()
	bt.cancel = cancel
	if bt.live == 0 {
		b.closeLocked(bt)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	rel, err := b.slot(ctx)
	b.mu.Lock()
	b.closeLocked(bt)
	bt.started = true
	var in []T
	for _, p := range bt.parts {
		if !p.left {
			parts = append(parts, p)
			in = append(in, p.in...)
		}
	}
	b.mu.Unlock()
	if err != nil {
		if errors.Is(err, ErrBusy) && b.refused != nil && len(parts) > 1 {
			b.refused(uint64(len(parts) - 1))
		}
		for _, p := range parts {
			p.deliver(nil, err)
		}
		return
	}
	defer rel()
	if len(parts) == 0 {
		return
	}
	b.stats.record(len(in))
	if len(parts) > 1 {
		b.stats.batched.Add(1)
	}
	vecs, err := b.safeCall(ctx, in)
	if err == nil && len(vecs) == len(in) {
		off := 0
		for _, p := range parts {
			p.deliver(vecs[off:off+len(p.in):off+len(p.in)], nil)
			off += len(p.in)
		}
		return
	}
	if len(parts) == 1 {
		parts[0].deliver(vecs, err)
		return
	}
	// One input may have failed the call: each request on its own, so
	// that only its own fails.
	b.stats.fallbacks.Add(1)
	for _, p := range parts {
		if p.ctx.Err() != nil {
			p.deliver(nil, p.ctx.Err())
			continue
		}
		b.stats.record(len(p.in))
		p.deliver(b.safeCall(p.ctx, p.in))
	}
}

// safeCall is call with a panic turned into an error: it runs on a
// goroutine of the batcher's, out of reach of the HTTP recoverer.
func (b *batcher[T]) safeCall(ctx context.Context, in []T) (vecs [][]float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			vecs, err = nil, fmt.Errorf("engine: model %q panicked encoding %d %ss: %v", b.model, len(in), b.medium, r)
		}
	}()
	return b.call(ctx, in)
}

func (p *part[T]) deliver(vecs [][]float32, err error) {
	p.vecs, p.err = vecs, err
	close(p.done)
}

func (s *batchStats) snapshot(model, medium string) EncodeBatchStats {
	st := EncodeBatchStats{Model: model, Medium: medium, Calls: s.calls.Load(), Inputs: s.inputs.Load(),
		Batched: s.batched.Load(), Fallbacks: s.fallbacks.Load(), Sizes: make([]uint64, len(s.sizes))}
	for i := range s.sizes {
		st.Sizes[i] = s.sizes[i].Load()
	}
	return st
}

// batchers holds the engine's batchers, one per model and medium.
type batchers struct {
	mu     sync.Mutex // guards texts and images
	texts  map[string]*batcher[string]
	images map[string]*batcher[image.Image]
}

// batchSize is the batch size of a model's batcher for a medium:
// EncodeBatchMax, else what the encoder prefers, else the default.
func (e *Engine) batchSize(enc Encoder, medium string) int {
	if e.opts.EncodeBatchMax > 0 {
		return e.opts.EncodeBatchMax
	}
	if bs, ok := enc.(BatchSizer); ok {
		imgs, texts := bs.BatchSizes()
		if n := map[string]int{"image": imgs, "text": texts}[medium]; n > 0 {
			return n
		}
	}
	return DefaultEncodeBatchMax
}

func (e *Engine) textBatcher(model string, enc Encoder) *batcher[string] {
	e.batch.mu.Lock()
	defer e.batch.mu.Unlock()
	b := e.batch.texts[model]
	if b == nil {
		b = &batcher[string]{model: model, medium: "text", max: e.batchSize(enc, "text"), wait: e.opts.EncodeBatchWait,
			slot: e.slot, refused: e.refused, call: enc.EmbedTexts}
		e.batch.texts[model] = b
	}
	return b
}

func (e *Engine) imageBatcher(model string, enc Encoder) *batcher[image.Image] {
	e.batch.mu.Lock()
	defer e.batch.mu.Unlock()
	b := e.batch.images[model]
	if b == nil {
		b = &batcher[image.Image]{model: model, medium: "image", max: e.batchSize(enc, "image"), wait: e.opts.EncodeBatchWait,
			slot: e.slot, refused: e.refused, call: enc.EmbedImages}
		e.batch.images[model] = b
	}
	return b
}

// refused counts requests refused for a full budget (Stats.Busy).
func (e *Engine) refused(n uint64) { e.busy.Add(n) }

// embedTexts embeds texts with the model's encoder in an encode slot,
// batched with other requests' texts (see batcher).
func (e *Engine) embedTexts(ctx context.Context, model string, enc Encoder, texts []string) ([][]float32, error) {
	return e.textBatcher(model, enc).embed(ctx, texts, nil)
}

// embedImages embeds imgs like embedTexts; it owns release, the return of
// the images' pixels to the budget, and calls it once nothing references
// them.
func (e *Engine) embedImages(ctx context.Context, model string, enc Encoder, imgs []image.Image, release func()) ([][]float32, error) {
	return e.imageBatcher(model, enc).embed(ctx, imgs, release)
}

// encodeBatchStats lists every batcher's figures, texts first.
func (e *Engine) encodeBatchStats() []EncodeBatchStats {
	e.batch.mu.Lock()
	defer e.batch.mu.Unlock()
	var out []EncodeBatchStats
	for m, b := range e.batch.texts {
		out = append(out, b.stats.snapshot(m, "text"))
	}
	for m, b := range e.batch.images {
		out = append(out, b.stats.snapshot(m, "image"))
	}
	return out
}
