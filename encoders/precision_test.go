package encoders

import (
	"context"
	"errors"
	"testing"

	"rosetta/internal/embedcmp"
)

// TestOpenAt: int8 gives a quantised copy whose embeddings are within
// cosine 0.999 of float32's; float32 and "" give the exact model; a bad
// precision and a model without an int8 form are refused.
func TestOpenAt(t *testing.T) {
	dir := linkDir(t, [2]string{"clip-vit", "config.json"}, [2]string{"clip-vit", "model.safetensors"},
		[2]string{"clip-vit", "preprocessor_config.json"}, [2]string{"tokenizer-clip", "vocab.json"}, [2]string{"tokenizer-clip", "merges.txt"})
	f, err := OpenAt(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	q, err := OpenAt(dir, PrecisionInt8)
	if err != nil {
		t.Fatal(err)
	}
	imgs := images(t, "astronaut", "chelsea")
	texts := []string{"a cat", "an astronaut"}
	fi, _ := f.EmbedImages(context.Background(), imgs)
	qi, err := q.EmbedImages(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	ft, _ := f.EmbedTexts(context.Background(), texts)
	qt, err := q.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fi {
		ci, ct := embedcmp.Cosine(fi[i], qi[i]), embedcmp.Cosine(ft[i], qt[i])
		if ci < 0.999 || ct < 0.999 || ci == 1 && ct == 1 {
			t.Errorf("input %d: int8 cosine to float32 image %.6f, text %.6f (want in [0.999, 1), not the float32 model)", i, ci, ct)
		}
	}
	if _, err := OpenAt(dir, "int4"); !errors.Is(err, ErrPrecision) {
		t.Errorf("precision int4: %v", err)
	}
	if err := SetPrecision(struct{}{}, PrecisionInt8); !errors.Is(err, ErrPrecision) {
		t.Errorf("int8 of a model without QuantizeInt8: %v", err)
	}
	if err := SetPrecision(struct{}{}, PrecisionFloat32); err != nil {
		t.Errorf("float32 of anything: %v", err)
	}
}
