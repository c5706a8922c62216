package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rosetta/encoders/clip"
	"rosetta/encoders/imageproc"
	"rosetta/internal/fixtures"
)

var _ BatchSizer = (*clip.Encoder)(nil)

// fakeCall is an encoder for the batcher's tests: a text's vector is
// [len, first byte]; "bad" fails the whole call and "boom" panics. The
// first call blocks on gate (when set) after closing entered: a call in
// flight that later callers gather behind.
type fakeCall struct {
	mu      sync.Mutex
	calls   [][]string
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (f *fakeCall) call(ctx context.Context, in []string) ([][]float32, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(in))
	first := len(f.calls) == 1
	f.mu.Unlock()
	if first && f.gate != nil {
		f.once.Do(func() { close(f.entered) })
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([][]float32, len(in))
	for i, s := range in {
		switch s {
		case "bad":
			return nil, errors.New("fake: bad input")
		case "boom":
			panic("fake: boom")
		}
		out[i] = []float32{float32(len(s)), float32(s[0])}
	}
	return out, nil
}

func (f *fakeCall) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n []int
	for _, c := range f.calls {
		n = append(n, len(c))
	}
	return n
}

// newTestBatcher has unlimited encode slots unless slot is given.
func newTestBatcher(f *fakeCall, max int, wait time.Duration) *batcher[string] {
	return &batcher[string]{model: "fake", medium: "text", max: max, wait: wait,
		slot: func(context.Context) (func(), error) { return func() {}, nil }, call: f.call}
}

// blockFirst starts a call that stays in flight until the returned
// function is called (and waits for it), so that later calls gather.
func blockFirst(t *testing.T, b *batcher[string], f *fakeCall) (unblock func()) {
	t.Helper()
	f.gate, f.entered = make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		vecs, err := b.embed(bg, []string{"first"}, nil)
		if err == nil && (len(vecs) != 1 || vecs[0][0] != 5) {
			err = fmt.Errorf("first call got %v", vecs)
		}
		done <- err
	}()
	<-f.entered
	return func() {
		close(f.gate)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// checkNoLeak waits for the goroutines started since before to end.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantVec(t *testing.T, s string, vecs [][]float32, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%q: %v", s, err)
		return
	}
	if len(vecs) != 1 || vecs[0][0] != float32(len(s)) || vecs[0][1] != float32(s[0]) {
		t.Errorf("%q got %v", s, vecs)
	}
}

// TestBatcherGathers: behind a call in flight, 16 single-text callers
// make two full batches of 8 (one call each), and each gets its own row.
func TestBatcherGathers(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeCall{}
	b := newTestBatcher(f, 8, time.Hour) // only a full batch starts
	unblock := blockFirst(t, b, f)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			s := strings.Repeat(string(rune('a'+i)), i+1)
			vecs, err := b.embed(bg, []string{s}, nil)
			wantVec(t, s, vecs, err)
		})
	}
	wg.Wait()
	unblock()
	if got := f.sizes(); !slices.Equal(got, []int{1, 8, 8}) {
		t.Errorf("call sizes %v, want [1 8 8]", got)
	}
	st := b.stats.snapshot("fake", "text")
	if st.Calls != 3 || st.Inputs != 17 || st.Batched != 2 || st.Sizes[0] != 1 || st.Sizes[3] != 2 {
		t.Errorf("stats %+v", st)
	}
	checkNoLeak(t, before)
}

// TestBatcherMixedSizes: callers with several inputs share a batch up to
// max inputs; one that would overflow it starts a new batch, and one of
// max inputs or more runs on its own.
func TestBatcherMixedSizes(t *testing.T) {
	f := &fakeCall{}
	b := newTestBatcher(f, 4, time.Hour)
	unblock := blockFirst(t, b, f)
	defer unblock()
	res := make(chan error, 3)
	go func() { _, err := b.embed(bg, []string{"aa", "bb", "cc"}, nil); res <- err }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.open != nil && b.open.n == 3 })
	go func() { _, err := b.embed(bg, []string{"dd", "ee"}, nil); res <- err }() // overflows: seals the first
	vecs, err := b.embed(bg, []string{"w", "x", "y", "z"}, nil)                  // max inputs: alone
	if err != nil || len(vecs) != 4 || vecs[3][1] != 'z' {
		t.Fatalf("big request: %v %v", vecs, err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.open != nil && b.open.n == 2 })
	go func() { _, err := b.embed(bg, []string{"ff", "gg"}, nil); res <- err }() // fills the second
	for range 2 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	got := f.sizes()
	slices.Sort(got[1:])
	if !slices.Equal(got, []int{1, 3, 4, 4}) {
		t.Errorf("call sizes %v, want [1 3 4 4]", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

// TestBatcherLoneCallerDoesNotWait: with nothing else in flight a call
// runs at once, however long the batch wait (an hour here).
func TestBatcherLoneCallerDoesNotWait(t *testing.T) {
	f := &fakeCall{}
	b := newTestBatcher(f, 8, time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range []string{"one", "two", "three"} {
			vecs, err := b.embed(bg, []string{s}, nil)
			wantVec(t, s, vecs, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a lone caller waited for a batch")
	}
	if got := f.sizes(); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("call sizes %v", got)
	}
}

// TestBatcherWaitIsBounded: behind a call in flight that does not end, a
// caller's batch starts once the wait is over.
func TestBatcherWaitIsBounded(t *testing.T) {
	f := &fakeCall{}
	b := newTestBatcher(f, 8, 20*time.Millisecond)
	unblock := blockFirst(t, b, f)
	defer unblock()
	vecs, err := b.embed(bg, []string{"later"}, nil)
	wantVec(t, "later", vecs, err)
}

// TestBatcherCancel: a caller that leaves a gathering batch returns at
// once, its inputs never reach the encoder and its release runs before the
// batch does; the others get their rows. A batch everyone left never
// calls the encoder.
func TestBatcherCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeCall{}
	b := newTestBatcher(f, 3, time.Hour)
	unblock := blockFirst(t, b, f)
	var released atomic.Int32
	rel := func() { released.Add(1) }
	res := make(chan error, 2)
	go func() { vecs, err := b.embed(bg, []string{"keep"}, rel); wantVec(t, "keep", vecs, err); res <- err }()
	ctx, cancel := context.WithCancel(bg)
	left := make(chan error, 1)
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.open != nil && b.open.n == 1 })
	go func() { _, err := b.embed(ctx, []string{"gone"}, rel); left <- err }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.open != nil && b.open.n == 2 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	if released.Load() != 1 {
		t.Fatalf("the cancelled caller's inputs were not released (%d)", released.Load())
	}
	// Two more fill the batch: the dropped input left room.
	for _, s := range []string{"x", "yy"} {
		go func() { vecs, err := b.embed(bg, []string{s}, rel); wantVec(t, s, vecs, err); res <- err }()
	}
	for range 3 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return released.Load() == 4 })
	// Everyone leaves: no call.
	ctx2, cancel2 := context.WithCancel(bg)
	go func() { _, err := b.embed(ctx2, []string{"alone"}, rel); left <- err }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.open != nil && b.open.n == 1 })
	cancel2()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	b.mu.Lock()
	b.open.timer.Reset(0) // end its wait now
	b.mu.Unlock()
	unblock()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.active == 0 && b.open == nil })
	for _, c := range f.calls {
		if slices.Contains(c, "gone") || slices.Contains(c, "alone") {
			t.Errorf("a cancelled caller's input reached the encoder: %v", f.calls)
		}
	}
	if got := f.sizes(); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("call sizes %v, want [1 3]", got)
	}
	if released.Load() != 5 {
		t.Errorf("%d releases for 5 callers", released.Load())
	}
	checkNoLeak(t, before)
}

// TestBatcherCancelWhileRunning: when every caller of a running batch has
// left, the call's context is cancelled.
func TestBatcherCancelWhileRunning(t *testing.T) {
	before := runtime.NumGoroutine()
	started, stopped := make(chan struct{}), make(chan error, 1)
	var once sync.Once
	b := &batcher[string]{model: "fake", medium: "text", max: 2, wait: time.Hour,
		slot: func(context.Context) (func(), error) { return func() {}, nil }}
	f := &fakeCall{}
	b.call = func(ctx context.Context, in []string) ([][]float32, error) {
		if len(in) == 1 {
			return f.call(ctx, in)
		}
		once.Do(func() { close(started) })
		<-ctx.Done()
		stopped <- ctx.Err()
		return nil, ctx.Err()
	}
	unblock := blockFirst(t, b, f)
	ctx, cancel := context.WithCancel(bg)
	errs := make(chan error, 2)
	for _, s := range []string{"a", "b"} {
		go func() { _, err := b.embed(ctx, []string{s}, nil); errs <- err }()
	}
	<-started
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("caller: %v", err)
		}
	}
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Fatalf("the batch's call: %v", err)
	}
	unblock()
	checkNoLeak(t, before)
}

// TestBatcherErrorIsPerRequest: a batch whose call fails is redone request
// by request, so a bad input (an error or a panic) fails only its own
// request.
func TestBatcherErrorIsPerRequest(t *testing.T) {
	for _, bad := range []string{"bad", "boom"} {
		t.Run(bad, func(t *testing.T) {
			f := &fakeCall{}
			b := newTestBatcher(f, 4, time.Hour)
			unblock := blockFirst(t, b, f)
			defer unblock()
			var wg sync.WaitGroup
			var badErr error
			for _, in := range [][]string{{"ok"}, {bad}, {"fine", "good"}} {
				wg.Go(func() {
					vecs, err := b.embed(bg, in, nil)
					if in[0] == bad {
						badErr = err
						return
					}
					if err != nil || len(vecs) != len(in) || vecs[len(in)-1][1] != float32(in[len(in)-1][0]) {
						t.Errorf("%v: %v %v", in, vecs, err)
					}
				})
			}
			wg.Wait()
			if badErr == nil || (bad == "boom" && !strings.Contains(badErr.Error(), "panicked")) {
				t.Errorf("the bad request: %v", badErr)
			}
			if st := b.stats.snapshot("fake", "text"); st.Fallbacks != 1 || st.Batched != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestBatcherBusy: a batch that gets no encode slot fails every caller
// with the slot's error, and releases their inputs.
func TestBatcherBusy(t *testing.T) {
	f := &fakeCall{}
	b := newTestBatcher(f, 2, time.Hour)
	unblock := blockFirst(t, b, f)
	defer unblock()
	b.slot = func(context.Context) (func(), error) { return nil, ErrBusy }
	var refused atomic.Uint64
	b.refused = func(n uint64) { refused.Add(n) }
	var released atomic.Int32
	var wg sync.WaitGroup
	for _, s := range []string{"a", "b"} {
		wg.Go(func() {
			if _, err := b.embed(bg, []string{s}, func() { released.Add(1) }); !errors.Is(err, ErrBusy) {
				t.Errorf("%s: %v", s, err)
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return released.Load() == 2 })
	if refused.Load() != 1 { // the slot itself counts the first
		t.Errorf("%d further refusals counted, want 1", refused.Load())
	}
}

// countingEncoder counts the calls that reach a real encoder; the first
// call of each medium waits for gate (after closing its entered channel).
type countingEncoder struct {
	Encoder
	texts, images           atomic.Int32
	gate                    chan struct{}
	textEntered, imgEntered chan struct{}
}

func (c *countingEncoder) EmbedTexts(ctx context.Context, in []string) ([][]float32, error) {
	if c.texts.Add(1) == 1 {
		close(c.textEntered)
		<-c.gate
	}
	return c.Encoder.EmbedTexts(ctx, in)
}

func (c *countingEncoder) EmbedImages(ctx context.Context, in []image.Image) ([][]float32, error) {
	if c.images.Add(1) == 1 {
		close(c.imgEntered)
		<-c.gate
	}
	return c.Encoder.EmbedImages(ctx, in)
}

func fixtureImages(t testing.TB) (names []string, raw [][]byte, imgs []image.Image) {
	dir := fixtures.Dir(t, "preprocess-image")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		if filepath.Ext(en.Name()) != ".png" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageproc.Options{}.DecodeBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		names, raw, imgs = append(names, en.Name()), append(raw, b), append(imgs, img)
	}
	return names, raw, imgs
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestBatchingWithFixtureCLIP: concurrent single-image and single-text
// queries and single-object upserts, encoded by the fixture CLIP behind a
// call in flight, take fewer encoder calls than requests and give every
// request bit for bit the vector an unbatched call gives.
func TestBatchingWithFixtureCLIP(t *testing.T) {
	enc, err := clip.Open(tinyCLIP(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ce := &countingEncoder{Encoder: enc, gate: make(chan struct{}), textEntered: make(chan struct{}), imgEntered: make(chan struct{})}
	e, err := Open(Options{Dir: t.TempDir(), SnapshotEvery: -1, EncodeBatchWait: time.Hour, EncodeBatchMax: 4,
		Limits: Limits{Encodes: 4}, LoadModel: func(string) (Encoder, error) { return ce, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(bg)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "tiny"}}}); err != nil {
		t.Fatal(err)
	}
	names, raw, imgs := fixtureImages(t)
	texts := []string{"a cat on a sofa", "a rocket", "x", "a cup of coffee on a wooden table", "two dogs", "an astronaut", "sky", "z z z"}
	want := func(in any) []float32 {
		var v [][]float32
		var err error
		switch x := in.(type) {
		case string:
			v, err = enc.EmbedTexts(bg, []string{x})
		case image.Image:
			v, err = enc.EmbedImages(bg, []image.Image{x})
		}
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	space := Space{Name: "clip", Model: "tiny"}
	// A first image query and a first text query stay in flight while the
	// rest arrive.
	firstDone := make(chan error, 2)
	for _, q := range []Query{{Image: raw[0]}, {Text: "first"}} {
		go func() {
			v, err := e.encodeQuery(bg, space, q)
			var w []float32
			if q.Text != "" {
				w = want(q.Text)
			} else {
				w = want(imgs[0])
			}
			if err == nil && !sameBits(v, w) {
				err = errors.New("a first query's vector differs")
			}
			firstDone <- err
		}()
	}
	<-ce.imgEntered
	<-ce.textEntered
	var wg sync.WaitGroup
	// 2×6 image queries and 8 text queries: full batches of 4.
	for r := range 2 {
		for i := range imgs {
			wg.Go(func() {
				v, err := e.encodeQuery(bg, space, Query{Image: raw[i]})
				if err != nil || !sameBits(v, want(imgs[i])) {
					t.Errorf("image query %s (round %d): not the unbatched vector bit for bit (err %v)", names[i], r, err)
				}
			})
		}
	}
	for _, s := range texts {
		wg.Go(func() {
			v, err := e.encodeQuery(bg, space, Query{Text: s})
			if err != nil || !sameBits(v, want(s)) {
				t.Errorf("text query %q: not the unbatched vector bit for bit (err %v)", s, err)
			}
		})
	}
	// 4 single-object upserts of an image each.
	ids := make([]uint64, 4)
	for i := range ids {
		wg.Go(func() {
			got, err := e.Upsert(bg, "c", []Object{{Key: fmt.Sprint("img", i), Content: &Content{Image: raw[i]}}})
			if err != nil {
				t.Errorf("upsert %d: %v", i, err)
				return
			}
			ids[i] = got[0]
		})
	}
	wg.Wait()
	close(ce.gate)
	for range 2 {
		if err := <-firstDone; err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		o, err := e.db.Get("c", id)
		if err != nil || !sameBits(o.Vectors["clip"], want(imgs[i])) {
			t.Errorf("upserted image %d: stored vector differs from an unbatched encode (%v)", i, err)
		}
	}
	// 1 + 16/4 image calls, 1 + 8/4 text calls.
	if n := ce.images.Load(); n != 5 {
		t.Errorf("%d image calls for 17 image requests, want 5", n)
	}
	if n := ce.texts.Load(); n != 3 {
		t.Errorf("%d text calls for 9 text requests, want 3", n)
	}
	if px := e.pixels.inUse(); px != 0 {
		t.Errorf("%d decoded pixels still reserved", px)
	}
	var batched uint64
	for _, st := range e.Stats().EncodeBatches {
		batched += st.Batched
	}
	if batched != 6 {
		t.Errorf("stats count %d batched calls, want 6: %+v", batched, e.Stats().EncodeBatches)
	}
}

// TestBatchingOffWithNegativeWait: EncodeBatchWait < 0 encodes every
// request on its own.
func TestBatchingOffWithNegativeWait(t *testing.T) {
	f := &fakeCall{}
	b := newTestBatcher(f, 8, -1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := strings.Repeat("q", i+1)
			vecs, err := b.embed(bg, []string{s}, nil)
			wantVec(t, s, vecs, err)
		})
	}
	wg.Wait()
	if got := f.sizes(); len(got) != 8 {
		t.Errorf("call sizes %v, want 8 single calls", got)
	}
}

// BenchmarkConcurrentImageQueries: 8 clients, each encoding one image at a
// time through the engine (decode, budgets, encode), with batching across
// requests on and off, with the fixture CLIP (decoding dominates) and with
// ViT-B/32 shapes and random weights (the encoder dominates). For a quiet
// machine:
//
//	go test -run XXX -bench ConcurrentImageQueries -benchtime 200x ./engine
func BenchmarkConcurrentImageQueries(b *testing.B) {
	full := sync.OnceValues(func() (Encoder, error) {
		m, err := clip.NewRandom(clip.ViTB32(), nil, 1)
		if err != nil {
			return nil, err
		}
		return &clip.Encoder{Model: m, Pre: imageproc.DefaultCLIP(224), ImageBatch: 8, TextBatch: 16}, nil
	})
	for _, model := range []string{"tiny", "vit-b-32"} {
		for _, mode := range []struct {
			name string
			wait time.Duration
		}{{"batching=on", DefaultEncodeBatchWait}, {"batching=off", -1}} {
			b.Run(model+"/"+mode.name, func(b *testing.B) {
				load := func(string) (Encoder, error) { return clip.Open(tinyCLIP(b), nil) }
				if model != "tiny" {
					load = func(string) (Encoder, error) { return full() }
				}
				e, err := Open(Options{Dir: b.TempDir(), SnapshotEvery: -1, EncodeBatchWait: mode.wait, Logger: slog.New(slog.DiscardHandler),
					LoadModel: load})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				e.WaitReady(bg)
				_, raw, _ := fixtureImages(b)
				space := Space{Name: "clip", Model: model}
				if _, err := e.encodeQuery(bg, space, Query{Image: raw[0]}); err != nil { // load the model
					b.Fatal(err)
				}
				const clients = 8
				var next atomic.Int64
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for c := range clients {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							if _, err := e.encodeQuery(bg, space, Query{Image: raw[(int(i)+c)%len(raw)]}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "images/s")
				var calls, inputs uint64
				for _, st := range e.Stats().EncodeBatches {
					calls, inputs = calls+st.Calls, inputs+st.Inputs
				}
				if calls > 0 {
					b.ReportMetric(float64(inputs)/float64(calls), "images/call")
				}
			})
		}
	}
}

// TestBatcherJoinsWhileWaitingForASlot: a batch whose wait is over but
// whose encode slot is still taken keeps taking callers until the slot
// comes, then runs them all in one call.
func TestBatcherJoinsWhileWaitingForASlot(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeCall{}
	b := newTestBatcher(f, 16, time.Millisecond)
	slots := make(chan struct{}, 1) // one encode slot
	b.slot = func(ctx context.Context) (func(), error) {
		select {
		case slots <- struct{}{}:
			return func() { <-slots }, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	unblock := blockFirst(t, b, f) // holds the slot
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			s := strings.Repeat(string(rune('a'+i)), i+1)
			vecs, err := b.embed(bg, []string{s}, nil)
			wantVec(t, s, vecs, err)
		})
		time.Sleep(10 * time.Millisecond) // each arrives well after the last one's wait
	}
	unblock()
	wg.Wait()
	if got := f.sizes(); !slices.Equal(got, []int{1, 6}) {
		t.Errorf("call sizes %v, want [1 6]: the batch stopped taking callers before it had a slot", got)
	}
	checkNoLeak(t, before)
}
