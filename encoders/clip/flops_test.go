package clip

import "testing"

// The figures ONNX shape inference gives for bench/ort's graphs of
// openai/clip-vit-base-patch32 (MatMul and Conv at batch 1), and the
// 8.82 / 5.96 GFLOP that bench/RESULTS.md quotes.
func TestViTB32FLOPs(t *testing.T) {
	c := ViTB32()
	if got, want := c.VisionFLOPs(), int64(8_817_623_040); got != want {
		t.Errorf("VisionFLOPs = %d, want %d", got, want)
	}
	if got, want := c.TextFLOPs(), int64(5_959_540_736); got != want {
		t.Errorf("TextFLOPs = %d, want %d", got, want)
	}
	if got := RN50().VisionFLOPs(); got != 0 {
		t.Errorf("RN50 VisionFLOPs = %d, want 0 (no ViT)", got)
	}
}
