package hubert

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rosetta/kernels"
)

// BenchmarkRealTimeFactorBase reports seconds of audio encoded per second
// of compute for hubert-base shapes with random weights, 1 and 2 threads,
// on a 10 s clip (the ingest window).
// go test -run XXX -bench RealTimeFactorBase -benchtime 2x ./encoders/hubert
func BenchmarkRealTimeFactorBase(b *testing.B) {
	// facebook/hubert-base-ls960's shape.
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "hubert", "hidden_size": 768, "num_hidden_layers": 12,
		"num_attention_heads": 12, "intermediate_size": 3072, "conv_dim": [512,512,512,512,512,512,512],
		"conv_kernel": [10,3,3,3,3,2,2], "conv_stride": [5,2,2,2,2,2,2], "conv_bias": false,
		"num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16, "feat_extract_norm": "group",
		"do_stable_layer_norm": false, "hidden_act": "gelu", "layer_norm_eps": 1e-5}`), 0o644)
	cfg, err := loadConfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewRandom(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	const seconds = 10
	x := make([]float32, seconds*16000)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(float64(i)*0.05))
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			old := kernels.SetGemmThreads(threads)
			defer kernels.SetGemmThreads(old)
			for b.Loop() {
				t0 := time.Now()
				if _, err := m.Forward([][]float32{x}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(seconds/time.Since(t0).Seconds(), "x-realtime")
			}
		})
	}
}
