package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"maps"
	"sync"

	"rosetta/encoders/audio"
	"rosetta/encoders/imageproc"
)

// Encoder is what the engine needs from a model that fills a vector
// space; *clip.Encoder implements it.
type Encoder interface {
	Dim() int
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
	EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error)
}

// AudioEmbedder is implemented by models that embed audio (HuBERT,
// wav2vec 2.0): each element of clips is an encoded audio file.
type AudioEmbedder interface {
	EmbedAudio(ctx context.Context, clips [][]byte) ([][]float32, error)
}

// trustedKey marks a context whose caller is a local tool with its own
// filesystem access (the CLI), whose model names may be any path.
type trustedKey struct{}

// Trusted returns ctx marked as coming from a local, trusted caller (the
// rosetta CLI opening a data directory itself). Calls without the mark —
// everything the HTTP API makes — have their model names vetted by
// Options.CheckModelName.
func Trusted(ctx context.Context) context.Context { return context.WithValue(ctx, trustedKey{}, true) }

func isTrusted(ctx context.Context) bool { v, _ := ctx.Value(trustedKey{}).(bool); return v }

func (e *Engine) checkModelName(ctx context.Context, name string) error {
	if isTrusted(ctx) || e.opts.CheckModelName == nil {
		return nil
	}
	if err := e.opts.CheckModelName(name); err != nil {
		return fmt.Errorf("%w: model %s: %v", ErrInvalid, quote(name), err)
	}
	return nil
}

// models caches loaded models (encoders, transcribers) by name. Loading
// one model never blocks the use or the loading of another: each name
// loads once, and callers asking for a model being loaded wait for that
// one alone.
type models[T any] struct {
	load func(name string) (T, error)
	mu   sync.Mutex // guards m
	m    map[string]*modelEntry[T]
}

func newModels[T any](load func(name string) (T, error)) models[T] {
	return models[T]{load: load, m: map[string]*modelEntry[T]{}}
}

type modelEntry[T any] struct {
	done chan struct{} // closed when enc/err are set
	enc  T
	err  error
}

func (ms *models[T]) get(ctx context.Context, name string) (T, error) {
	if ms.load == nil {
		var zero T
		return zero, fmt.Errorf("%w: model %q: this server was started without a models directory (rosetta serve --models DIR)", ErrUnsupported, name)
	}
	ms.mu.Lock()
	en, ok := ms.m[name]
	if !ok {
		en = &modelEntry[T]{done: make(chan struct{})}
		ms.m[name] = en
	}
	ms.mu.Unlock()
	if !ok {
		en.enc, en.err = ms.load(name)
		if en.err != nil {
			en.err = fmt.Errorf("%w: model %q: %v", ErrUnsupported, name, en.err)
			ms.mu.Lock()
			delete(ms.m, name) // a later call may succeed (the model was installed)
			ms.mu.Unlock()
		}
		close(en.done)
	}
	select {
	case <-en.done:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	return en.enc, en.err
}

// fillModelSpaces gives every space that names a model its dimension from
// the model (or checks the one given).
func (e *Engine) fillModelSpaces(ctx context.Context, c *Collection) error {
	for i := range c.Spaces {
		s := &c.Spaces[i]
		if s.Model == "" {
			continue
		}
		enc, err := e.spaceModel(ctx, *s)
		if err != nil {
			return err
		}
		if s.Dim == 0 {
			s.Dim = enc.Dim()
		} else if s.Dim != enc.Dim() {
			return fmt.Errorf("%w: space %q has dim %d but model %q embeds %d", ErrInvalid, s.Name, s.Dim, s.Model, enc.Dim())
		}
	}
	return nil
}

// slot takes one of the server's encode slots.
func (e *Engine) slot(ctx context.Context) (func(), error) {
	return e.acquire(ctx, e.encodes, 1)
}

func (e *Engine) acquire(ctx context.Context, b *budget, n int64) (func(), error) {
	rel, err := b.acquire(ctx, n, e.opts.Limits.QueueWait)
	if errors.Is(err, ErrBusy) {
		e.busy.Add(1)
	}
	return rel, err
}

// imageConfig reads an image's declared size under the per-image limit.
func (e *Engine) imageConfig(b []byte) (int64, error) {
	cfg, _, err := imageproc.Options{MaxPixels: e.opts.Limits.MaxImagePixels}.ConfigBytes(b)
	if err != nil {
		return 0, imageErr(err)
	}
	return int64(cfg.Width) * int64(cfg.Height), nil
}

func (e *Engine) decodeImage(b []byte) (image.Image, error) {
	img, _, err := imageproc.Options{MaxPixels: e.opts.Limits.MaxImagePixels}.DecodeBytes(b)
	if err != nil {
		return nil, imageErr(err)
	}
	return img, nil
}

func imageErr(err error) error {
	if errors.Is(err, imageproc.ErrTooLarge) {
		return fmt.Errorf("%w: image: %v", ErrTooLarge, err)
	}
	return fmt.Errorf("%w: image: %v", ErrInvalid, err)
}

// decodeBudgeted decodes one image with its pixels reserved from the
// server-wide budget; release gives them back once the image is encoded.
func (e *Engine) decodeBudgeted(ctx context.Context, b []byte) (image.Image, func(), error) {
	px, err := e.imageConfig(b)
	if err != nil {
		return nil, nil, err
	}
	release, err := e.acquire(ctx, e.pixels, px)
	if err != nil {
		return nil, nil, err
	}
	img, err := e.decodeImage(b)
	if err != nil {
		release()
		return nil, nil, err
	}
	return img, release, nil
}

// audioSeconds is a clip's duration from the samples actually present.
func audioSeconds(b []byte) (float64, error) {
	rec, err := audio.Open(b)
	if err != nil {
		return 0, fmt.Errorf("%w: audio: %v", ErrInvalid, err)
	}
	return float64(rec.Frames()) / float64(rec.Rate()), nil
}

// Chunking of a batch's media: at most this many images are decoded and
// encoded together, and at most this many texts.
const (
	imageChunk = 8
	textChunk  = 64
)

// encodeContent fills, for objects with Content, the vectors of every
// space that names a model and has no vector given. Images are decoded
// and encoded a chunk at a time under the server's pixel budget, audio
// under its audio-seconds budget, each forward pass in an encode slot.
func (e *Engine) encodeContent(ctx context.Context, c *coll, objs []Object) error {
	// Audio seconds are a per-request limit: sum them once.
	var secs []float64
	total := 0.0
	for i := range objs {
		if ct := objs[i].Content; ct != nil && ct.Audio != nil {
			if secs == nil {
				secs = make([]float64, len(objs))
			}
			s, err := audioSeconds(ct.Audio)
			if err != nil {
				return fmt.Errorf("objects[%d]: %w", i, err)
			}
			secs[i], total = s, total+s
		}
	}
	if total > e.opts.Limits.MaxAudioSeconds {
		return fmt.Errorf("%w: the request carries %.1f s of audio; the limit is %.0f s per request", ErrTooLarge, total, e.opts.Limits.MaxAudioSeconds)
	}
	for _, s := range c.meta.Spaces {
		if s.Model == "" {
			continue
		}
		var texts, imgs, auds []int
		for i := range objs {
			o := &objs[i]
			if o.Content == nil {
				continue
			}
			if _, given := o.Vectors[s.Name]; given {
				continue
			}
			switch ct := o.Content; {
			case ct.Decoded != nil || ct.Image != nil:
				imgs = append(imgs, i)
			case ct.Text != "":
				texts = append(texts, i)
			case ct.Audio != nil:
				auds = append(auds, i)
			}
		}
		if len(texts)+len(imgs)+len(auds) == 0 {
			continue
		}
		enc, err := e.spaceModel(ctx, s)
		if err != nil {
			return err
		}
		// In a collection of several models, each medium goes to the spaces
		// whose model embeds it (CLIP's for images and text, HuBERT's for
		// audio); a medium no space takes fails below, in the model.
		for _, m := range []struct {
			idx    *[]int
			medium string
		}{{&texts, "text"}, {&imgs, "image"}, {&auds, "audio"}} {
			if len(*m.idx) > 0 && !takes(enc, m.medium) {
				other, err := e.spaceTakes(ctx, c, s.Name, m.medium)
				if err != nil {
					return err
				}
				if other {
					*m.idx = nil
				}
			}
		}
		put := func(idx []int, vecs [][]float32, modality string) error {
			if len(vecs) != len(idx) {
				return fmt.Errorf("engine: model %q returned %d embeddings for %d inputs", s.Model, len(vecs), len(idx))
			}
			for j, i := range idx {
				if err := c.checkVector(s.Name, vecs[j]); err != nil {
					return fmt.Errorf("objects[%d]: the model's embedding: %w", i, err)
				}
				o := &objs[i]
				setVector(o, s.Name, vecs[j])
				if o.Modality == "" {
					o.Modality = modality
				}
			}
			return nil
		}
		for len(texts) > 0 {
			n := min(len(texts), textChunk)
			chunk := texts[:n]
			texts = texts[n:]
			in := make([]string, n)
			for j, i := range chunk {
				in[j] = objs[i].Content.Text
			}
			vecs, err := e.embedTexts(ctx, e.batchKey(s), enc, in)
			if err != nil {
				return encodeErr(ctx, "texts", s.Model, err)
			}
			if err := put(chunk, vecs, "text"); err != nil {
				return err
			}
		}
		embedImages := func(chunk []int, in []image.Image, release func()) error {
			vecs, err := e.embedImages(ctx, e.batchKey(s), enc, in, release) // releases the pixels
			if err != nil {
				return encodeErr(ctx, "images", s.Model, err)
			}
			return put(chunk, vecs, "image")
		}
		// The collection's rerank model filling this space too runs its
		// image tower once for the vectors and the cached tokens.
		if tm, ok := enc.(TokenMatcher); ok && s.Model == c.meta.RerankModel {
			if te, ok := enc.(TokenEmbedder); ok {
				tokens, width := tm.ImageTokenShape()
				embedImages = func(chunk []int, in []image.Image, _ func()) error {
					var toks []float32
					var vecs [][]float32
					_, err := e.embed(ctx, func() ([][]float32, error) {
						var err error
						if toks, err = tm.ImageTokens(ctx, in); err == nil {
							vecs, err = te.EmbedImageTokens(toks, len(in))
						}
						return nil, err
					})
					if err != nil {
						return encodeErr(ctx, "images", s.Model, err)
					}
					if err := put(chunk, vecs, "image"); err != nil {
						return err
					}
					return e.setTokens(c, objs, chunk, toks, tokens, width)
				}
			}
		}
		for len(imgs) > 0 {
			if err := e.decodeImageChunk(ctx, objs, &imgs, embedImages); err != nil {
				return err
			}
		}
		if len(auds) > 0 {
			ae, ok := enc.(AudioEmbedder)
			if !ok {
				return fmt.Errorf("%w: model %q of space %q does not embed audio", ErrUnsupported, s.Model, s.Name)
			}
			for _, i := range auds {
				release, err := e.acquire(ctx, e.audioSecs, int64(secs[i]*1000))
				if err != nil {
					return err
				}
				vecs, err := e.embed(ctx, func() ([][]float32, error) { return ae.EmbedAudio(ctx, [][]byte{objs[i].Content.Audio}) })
				release()
				if err != nil {
					return fmt.Errorf("objects[%d]: %w", i, encodeErr(ctx, "audio", s.Model, err))
				}
				if err := put([]int{i}, vecs, "audio"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// setVector gives o the vector v in space, in a new map: the caller's
// object (and its map) stay as given.
func setVector(o *Object, space string, v []float32) {
	vs := make(map[string][]float32, len(o.Vectors)+1)
	maps.Copy(vs, o.Vectors)
	vs[space] = v
	o.Vectors = vs
}

// takes reports whether a model embeds a medium ("text", "image" or
// "audio"): audio models implement AudioEmbedder, and one that does and has
// no text window (TokenCounter) embeds audio only.
func takes(enc Encoder, medium string) bool {
	_, audio := enc.(AudioEmbedder)
	if medium == "audio" {
		return audio
	}
	_, text := enc.(TokenCounter)
	return !audio || text
}

// spaceTakes reports whether a space of c other than except has a model
// that embeds medium.
func (e *Engine) spaceTakes(ctx context.Context, c *coll, except, medium string) (bool, error) {
	for _, s := range c.meta.Spaces {
		if s.Model == "" || s.Name == except {
			continue
		}
		enc, err := e.spaceModel(ctx, s)
		if err != nil {
			return false, err
		}
		if takes(enc, medium) {
			return true, nil
		}
	}
	return false, nil
}

// decodeImageChunk decodes the next chunk of *pending (indexes of image
// objects in objs) and hands it to encode: up to imageChunk images whose
// pixels fit half the server's budget (at least one image). The chunk's
// pixels are reserved at once, before any is decoded, and released once
// encode returns, or earlier when encode calls release (the batcher does
// once the encoder no longer holds the images; release is idempotent).
func (e *Engine) decodeImageChunk(ctx context.Context, objs []Object, pending *[]int, encode func(chunk []int, imgs []image.Image, release func()) error) error {
	var chunk []int
	var px int64 // pixels to decode (pre-decoded images are the caller's memory)
	var total int64
	limit := e.opts.Limits.DecodePixels / 2
	for _, i := range *pending {
		if len(chunk) == imageChunk {
			break
		}
		ct := objs[i].Content
		var n int64
		if ct.Decoded != nil {
			b := ct.Decoded.Bounds()
			n = int64(b.Dx()) * int64(b.Dy())
		} else {
			var err error
			if n, err = e.imageConfig(ct.Image); err != nil {
				return fmt.Errorf("objects[%d]: %w", i, err)
			}
		}
		if len(chunk) > 0 && total+n > limit {
			break
		}
		total += n
		if ct.Decoded == nil {
			px += n
		}
		chunk = append(chunk, i)
	}
	*pending = (*pending)[len(chunk):]
	held, err := e.acquire(ctx, e.pixels, px)
	if err != nil {
		return err
	}
	release := sync.OnceFunc(held)
	defer release()
	imgs := make([]image.Image, len(chunk))
	for j, i := range chunk {
		ct := objs[i].Content
		if imgs[j] = ct.Decoded; imgs[j] == nil {
			if imgs[j], err = e.decodeImage(ct.Image); err != nil {
				return fmt.Errorf("objects[%d]: %w", i, err)
			}
		}
	}
	return encode(chunk, imgs, release)
}

// embed runs one forward pass in an encode slot (texts and images go
// through embedTexts and embedImages, which batch across requests).
func (e *Engine) embed(ctx context.Context, f func() ([][]float32, error)) ([][]float32, error) {
	release, err := e.slot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return f()
}

// encodeQuery turns a text, image or audio query into a vector with the
// space's model, under the same budgets as writes.
func (e *Engine) encodeQuery(ctx context.Context, s Space, q Query) ([]float32, error) {
	if s.Model == "" {
		return nil, fmt.Errorf("%w: space %q has no model to encode a text, image or audio query; give a vector", ErrUnsupported, s.Name)
	}
	enc, err := e.spaceModel(ctx, s)
	if err != nil {
		return nil, err
	}
	var vecs [][]float32
	switch {
	case q.Audio != nil:
		ae, ok := enc.(AudioEmbedder)
		if !ok {
			return nil, fmt.Errorf("%w: model %q of space %q does not embed audio", ErrUnsupported, s.Model, s.Name)
		}
		secs, err := audioSeconds(q.Audio)
		if err != nil {
			return nil, err
		}
		if secs > e.opts.Limits.MaxAudioSeconds {
			return nil, fmt.Errorf("%w: the audio query is %.1f s; the limit is %.0f s", ErrTooLarge, secs, e.opts.Limits.MaxAudioSeconds)
		}
		release, err := e.acquire(ctx, e.audioSecs, int64(secs*1000))
		if err != nil {
			return nil, err
		}
		defer release()
		vecs, err = e.embed(ctx, func() ([][]float32, error) { return ae.EmbedAudio(ctx, [][]byte{q.Audio}) })
		if err != nil {
			return nil, encodeErr(ctx, "the audio query", s.Model, err)
		}
	case q.Text != "":
		vecs, err = e.embedTexts(ctx, e.batchKey(s), enc, []string{q.Text})
		if err != nil {
			return nil, encodeErr(ctx, "the text query", s.Model, err)
		}
	default:
		img, release, err := e.decodeBudgeted(ctx, q.Image)
		if err != nil {
			return nil, err
		}
		vecs, err = e.embedImages(ctx, e.batchKey(s), enc, []image.Image{img}, release) // releases the pixels
		if err != nil {
			return nil, encodeErr(ctx, "the image query", s.Model, err)
		}
	}
	if len(vecs) != 1 {
		return nil, errors.New("engine: encoder returned no embedding")
	}
	return vecs[0], nil
}

// encodeErr reports a model's failure on the content it was given as a
// request problem (400), unless the request itself was cancelled or the
// server is busy.
func encodeErr(ctx context.Context, what, model string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrBusy) || errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("encode %s with %q: %w", what, model, err)
	}
	return fmt.Errorf("%w: encode %s with %q: %v", ErrInvalid, what, model, err)
}
