package engine

import (
	"context"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"
)

// TokenCounter is implemented by text models with a fixed context (CLIP,
// BLIP, CoCa): a text longer than TextWindow tokens is truncated by the
// model, so the engine splits it into chunks first.
type TokenCounter interface {
	TextWindow() int
	CountTokens(text string) int
}

// MaxChunks bounds the chunks of one text (about 50,000 words at CLIP's 77
// tokens); the rest of a longer text is not embedded.
const MaxChunks = 1000

// span is a byte range of a text.
type span struct{ start, end int }

// chunkText splits text into chunks that each fit (fits reports whether a
// piece of text fits the model's window), packing whole sentences and
// paragraphs where it can, then words, then characters, and overlapping
// consecutive chunks by their boundary sentence (when that sentence is
// short enough to leave room), so a phrase that straddles a boundary is
// whole in one chunk. The chunks cover the text (white space between them
// aside) and are at most MaxChunks.
func chunkText(text string, fits func(string) bool) []span {
	units := splitUnits(text, fits)
	var out []span
	for i := 0; i < len(units) && len(out) < MaxChunks; {
		j := i + 1 // units[i:j] is the chunk
		for j < len(units) && fits(text[units[i].start:units[j].end]) {
			j++
		}
		out = append(out, trim(text, span{units[i].start, units[j-1].end}))
		if j == len(units) {
			break
		}
		// Overlap by the last unit when the chunk had more than one and
		// that unit is at most a third of it.
		next := j
		if j-i > 1 {
			last := units[j-1]
			if 3*(last.end-last.start) <= units[j-1].end-units[i].start {
				next = j - 1
			}
		}
		i = next
	}
	return out
}

// splitUnits cuts text into sentence-like units (ending at paragraph
// breaks and after ., !, ? followed by white space), splitting any unit
// that does not fit alone into words, and any word into runs of runes.
func splitUnits(text string, fits func(string) bool) []span {
	var units []span
	start := 0
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		end := false
		switch {
		case r == '\n' && i < len(text) && text[i] == '\n':
			end = true
		case (r == '.' || r == '!' || r == '?' || r == '。') && (i == len(text) || isSpaceAt(text, i)):
			end = true
		}
		if end || i == len(text) {
			for i < len(text) && isSpaceAt(text, i) {
				_, n := utf8.DecodeRuneInString(text[i:])
				i += n
			}
			units = append(units, span{start, i})
			start = i
		}
	}
	var out []span
	for _, u := range units {
		if fits(text[u.start:u.end]) {
			out = append(out, u)
			continue
		}
		for _, w := range splitWords(text, u) {
			if fits(text[w.start:w.end]) {
				out = append(out, w)
				continue
			}
			out = append(out, splitRunes(text, w, fits)...)
		}
	}
	return out
}

func isSpaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// splitWords cuts u at white space, each word keeping its trailing space.
func splitWords(text string, u span) []span {
	var out []span
	start := u.start
	for i := u.start; i < u.end; {
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		if unicode.IsSpace(r) && (i == u.end || !isSpaceAt(text, i)) {
			out = append(out, span{start, i})
			start = i
		}
	}
	if start < u.end {
		out = append(out, span{start, u.end})
	}
	return out
}

// splitRunes cuts a word too long for the window into the longest runs of
// runes that fit (at least one rune each).
func splitRunes(text string, w span, fits func(string) bool) []span {
	var out []span
	for start := w.start; start < w.end; {
		end := start
		for end < w.end {
			_, n := utf8.DecodeRuneInString(text[end:])
			if end > start && !fits(text[start:end+n]) {
				break
			}
			end += n
		}
		out = append(out, span{start, end})
		start = end
	}
	return out
}

func trim(text string, s span) span {
	for s.start < s.end && isSpaceAt(text, s.start) {
		_, n := utf8.DecodeRuneInString(text[s.start:])
		s.start += n
	}
	for s.end > s.start {
		r, n := utf8.DecodeLastRuneInString(text[s.start:s.end])
		if !unicode.IsSpace(r) {
			break
		}
		s.end -= n
	}
	return s
}

// chunkKey is a chunk object's key: its parent's key and character range.
func chunkKey(parent string, start, end int) string {
	return fmt.Sprintf("%s#c=%d,%d", parent, start, end)
}

// chunkPlan is how an upsert's long texts are split: for objects[i], the
// byte spans of its chunks (nil: not chunked).
type chunkPlan map[int][]span

// planChunks finds the text objects of a batch that are longer than the
// smallest text window of the collection's models and have a key (chunks
// name their parent by key), and splits them.
func (e *Engine) planChunks(ctx context.Context, c *coll, objs []Object) (chunkPlan, error) {
	eligible := func(o *Object) bool {
		if o.Content == nil || o.Content.Text == "" || o.Key == "" || len(o.Vectors) > 0 {
			return false
		}
		_, isChunk := o.Metadata["parent"]
		return !isChunk
	}
	// Models are looked at only when a text could need chunking.
	if !slices.ContainsFunc(objs, func(o Object) bool { return eligible(&o) }) {
		return nil, nil
	}
	var counter TokenCounter
	for _, s := range c.meta.Spaces {
		if s.Model == "" {
			continue
		}
		enc, err := e.spaceModel(ctx, s)
		if err != nil {
			return nil, err
		}
		if tc, ok := enc.(TokenCounter); ok && (counter == nil || tc.TextWindow() < counter.TextWindow()) {
			counter = tc
		}
	}
	if counter == nil {
		return nil, nil
	}
	window := counter.TextWindow()
	fits := func(s string) bool { return counter.CountTokens(s) <= window }
	plan := chunkPlan{}
	for i := range objs {
		if o := &objs[i]; eligible(o) && !fits(o.Content.Text) {
			plan[i] = chunkText(o.Content.Text, fits)
		}
	}
	return plan, nil
}

// chunkObjects returns the chunk objects of objs[i] under plan: each a
// text segment of its parent (metadata parent, chunk_start and chunk_end
// in characters), keyed parent#c=start,end.
func chunkObjects(objs []Object, plan chunkPlan) ([]Object, []int) {
	var out []Object
	var parentOf []int
	for i := range objs {
		spans := plan[i]
		if spans == nil {
			continue
		}
		p := &objs[i]
		text := p.Content.Text
		for _, sp := range spans {
			cs := utf8.RuneCountInString(text[:sp.start])
			ce := cs + utf8.RuneCountInString(text[sp.start:sp.end])
			md := map[string]any{"parent": p.Key, "chunk_start": float64(cs), "chunk_end": float64(ce)}
			for _, k := range []string{"file_name", "file_dir"} {
				if v, ok := p.Metadata[k]; ok {
					md[k] = v
				}
			}
			out = append(out, Object{Key: chunkKey(p.Key, cs, ce), Modality: "text", Source: p.Source,
				Metadata: md, Content: &Content{Text: text[sp.start:sp.end]}})
			parentOf = append(parentOf, i)
		}
	}
	return out, parentOf
}

// poolChunks gives each chunked parent, per space its chunks have a
// vector in, the normalised mean of its chunks' vectors.
func poolChunks(objs []Object, chunks []Object, parentOf []int) {
	means := map[int]*VectorMean{}
	for j, ch := range chunks {
		i := parentOf[j]
		if means[i] == nil {
			means[i] = &VectorMean{}
		}
		means[i].Add(ch.Vectors)
	}
	for i, m := range means {
		vs := make(map[string][]float32, len(objs[i].Vectors))
		for k, v := range objs[i].Vectors {
			vs[k] = v
		}
		for k, v := range m.Vectors() {
			vs[k] = v
		}
		objs[i].Vectors = vs
		if objs[i].Modality == "" {
			objs[i].Modality = "text"
		}
	}
}
