package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"

	"rosetta/encoders/imageproc"
	"rosetta/store"
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

// models caches loaded encoders by name.
type models struct {
	load func(name string) (Encoder, error)
	mu   sync.Mutex
	m    map[string]Encoder
}

func (ms *models) get(name string) (Encoder, error) {
	if ms.load == nil {
		return nil, fmt.Errorf("%w: model %q: this server was started without a models directory (rosetta serve --models DIR)", ErrUnsupported, name)
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if enc, ok := ms.m[name]; ok {
		return enc, nil
	}
	enc, err := ms.load(name)
	if err != nil {
		return nil, fmt.Errorf("%w: model %q: %v", ErrUnsupported, name, err)
	}
	ms.m[name] = enc
	return enc, nil
}

// fillModelSpaces gives every space that names a model its dimension from
// the model (or checks the one given).
func (e *Engine) fillModelSpaces(c *Collection) error {
	for i := range c.Spaces {
		s := &c.Spaces[i]
		if s.Model == "" {
			continue
		}
		enc, err := e.models.get(s.Model)
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

func (e *Engine) decodeImage(b []byte) (image.Image, error) {
	img, _, err := imageproc.Options{MaxPixels: int64(e.opts.MaxImagePixels)}.DecodeBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: image: %v", ErrInvalid, err)
	}
	return img, nil
}

// encodeContent fills, for objects with Content, the vectors of every
// space that names a model and has no vector given. Image and audio
// bytes are dropped afterwards (they are not stored).
func (e *Engine) encodeContent(ctx context.Context, meta Collection, objs []Object) error {
	for si, s := range meta.Spaces {
		if s.Model == "" {
			continue
		}
		var textIdx, imgIdx, audIdx []int
		var texts []string
		var imgs []image.Image
		var auds [][]byte
		for i := range objs {
			o := &objs[i]
			if o.Content == nil {
				continue
			}
			if _, given := o.Vectors[s.Name]; given {
				continue
			}
			switch {
			case o.Content.Decoded != nil:
				imgIdx = append(imgIdx, i)
				imgs = append(imgs, o.Content.Decoded)
			case o.Content.Image != nil:
				img, err := e.decodeImage(o.Content.Image)
				if err != nil {
					return fmt.Errorf("object %d: %w", i, err)
				}
				imgIdx = append(imgIdx, i)
				imgs = append(imgs, img)
			case o.Content.Text != "":
				textIdx = append(textIdx, i)
				texts = append(texts, o.Content.Text)
			case o.Content.Audio != nil:
				audIdx = append(audIdx, i)
				auds = append(auds, o.Content.Audio)
			}
		}
		if len(texts)+len(imgs)+len(auds) == 0 {
			continue
		}
		enc, err := e.models.get(s.Model)
		if err != nil {
			return err
		}
		put := func(idx []int, vecs [][]float32, modality string) {
			for j, i := range idx {
				o := &objs[i]
				// A new map: the caller's object (and its map) stay as given.
				vs := make(map[string][]float32, len(o.Vectors)+1)
				for k, v := range o.Vectors {
					vs[k] = v
				}
				vs[meta.Spaces[si].Name] = vecs[j]
				o.Vectors = vs
				if o.Modality == "" {
					o.Modality = modality
				}
			}
		}
		if len(texts) > 0 {
			vecs, err := enc.EmbedTexts(ctx, texts)
			if err != nil {
				return encodeErr(ctx, "texts", s.Model, err)
			}
			put(textIdx, vecs, "text")
		}
		if len(imgs) > 0 {
			vecs, err := enc.EmbedImages(ctx, imgs)
			if err != nil {
				return encodeErr(ctx, "images", s.Model, err)
			}
			put(imgIdx, vecs, "image")
		}
		if len(auds) > 0 {
			ae, ok := enc.(AudioEmbedder)
			if !ok {
				return fmt.Errorf("%w: model %q of space %q does not embed audio", ErrUnsupported, s.Model, s.Name)
			}
			vecs, err := ae.EmbedAudio(ctx, auds)
			if err != nil {
				return fmt.Errorf("%w: encode audio with %q: %v", ErrInvalid, s.Model, err)
			}
			put(audIdx, vecs, "audio")
		}
	}
	for i := range objs {
		if c := objs[i].Content; c != nil {
			if c.Text == "" {
				objs[i].Content = nil
			} else {
				objs[i].Content = &store.Content{Text: c.Text}
			}
		}
	}
	return nil
}

// encodeQuery turns a text or image query into a vector with the space's model.
func (e *Engine) encodeQuery(ctx context.Context, s Space, q Query) ([]float32, error) {
	if s.Model == "" {
		return nil, fmt.Errorf("%w: space %q has no model to encode a text, image or audio query; give a vector", ErrUnsupported, s.Name)
	}
	enc, err := e.models.get(s.Model)
	if err != nil {
		return nil, err
	}
	var vecs [][]float32
	if q.Audio != nil {
		ae, ok := enc.(AudioEmbedder)
		if !ok {
			return nil, fmt.Errorf("%w: model %q of space %q does not embed audio", ErrUnsupported, s.Model, s.Name)
		}
		vecs, err = ae.EmbedAudio(ctx, [][]byte{q.Audio})
		if err != nil {
			return nil, fmt.Errorf("%w: audio query: %v", ErrInvalid, err)
		}
		return vecs[0], nil
	}
	if q.Text != "" {
		vecs, err = enc.EmbedTexts(ctx, []string{q.Text})
	} else {
		img, derr := e.decodeImage(q.Image)
		if derr != nil {
			return nil, derr
		}
		vecs, err = enc.EmbedImages(ctx, []image.Image{img})
	}
	if err != nil {
		return nil, fmt.Errorf("encode query with %q: %w", s.Model, err)
	}
	if len(vecs) != 1 {
		return nil, errors.New("engine: encoder returned no embedding")
	}
	return vecs[0], nil
}

// encodeErr reports a model's failure on the content it was given as a
// request problem (400), unless the request itself was cancelled.
func encodeErr(ctx context.Context, what, model string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrUnsupported) {
		return fmt.Errorf("encode %s with %q: %w", what, model, err)
	}
	return fmt.Errorf("%w: encode %s with %q: %v", ErrInvalid, what, model, err)
}
