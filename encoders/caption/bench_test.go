package caption

import (
	"context"
	"image"
	"image/color"
	"testing"
	"time"

	"rosetta/encoders/blip"
	"rosetta/encoders/coca"
	"rosetta/encoders/imageproc"
)

// cocaB32 is open_clip's coca_ViT-B-32 shape.
const cocaB32 = `{"embed_dim": 512,
 "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32, "attentional_pool": true, "attn_pooler_heads": 8, "output_tokens": true},
 "text_cfg": {"context_length": 76, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12, "embed_cls": true, "output_tokens": true},
 "multimodal_cfg": {"context_length": 76, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12, "attn_pooler_heads": 8}}`

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	return img
}

// BenchmarkCaptionFullSize times one caption (20 new tokens, greedy and
// beam 3) for BLIP-base and CoCa ViT-B/32 shapes with random weights.
// go test -run XXX -bench CaptionFullSize -benchtime 1x ./encoders/caption
func BenchmarkCaptionFullSize(b *testing.B) {
	bcfg := blip.DefaultConfig()
	bm, err := blip.RandomCaptioner(bcfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	ccfg, err := coca.ParseConfig([]byte(cocaB32))
	if err != nil {
		b.Fatal(err)
	}
	cm, err := coca.NewRandom(ccfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	blipC := &Captioner{Kind: "blip", pre: imageproc.DefaultBLIP(bcfg.Vision.ImageSize), size: bcfg.Vision.ImageSize,
		start: []int{bcfg.Text.BOSTokenID}, eos: -1, // random weights: never stop early
		embed: func(px []float32) (any, error) { return bm.ImageEmbeds(px, 1) },
		step: func(cond any, prefix []int) ([]float32, error) {
			l, err := bm.LogitsFromEmbeds(cond.([]float32), prefix)
			if err != nil {
				return nil, err
			}
			v := len(l) / len(prefix)
			return l[(len(prefix)-1)*v:], nil
		}, decode: func([]int) string { return "" }}
	ti, e := ccfg.ImageTokens(), ccfg.EmbedDim
	cocaC := &Captioner{Kind: "coca", pre: imageproc.DefaultCLIP(ccfg.Vision.ImageSize), size: ccfg.Vision.ImageSize,
		start: []int{coca.SOT}, eos: -1,
		embed: func(px []float32) (any, error) { _, t, err := cm.EncodeImage(px, 1); return t[:ti*e], err },
		step: func(cond any, prefix []int) ([]float32, error) {
			_, txt, err := cm.EncodeText([][]int{prefix})
			if err != nil {
				return nil, err
			}
			l, err := cm.DecoderLogits(cond.([]float32), txt, 1, len(prefix))
			if err != nil {
				return nil, err
			}
			v := len(l) / len(prefix)
			return l[(len(prefix)-1)*v:], nil
		}, decode: func([]int) string { return "" }}
	img := testImage()
	for _, c := range []*Captioner{blipC, cocaC} {
		for _, beams := range []int{1, 3} {
			b.Run(c.Kind+"/beams="+string(rune('0'+beams)), func(b *testing.B) {
				for b.Loop() {
					t0 := time.Now()
					r, err := c.Caption(context.Background(), img, beams, 20)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/caption")
					b.ReportMetric(float64(len(r.IDs)-1), "tokens")
				}
			})
		}
	}
	// The KV-cached greedy path of BLIP for comparison.
	b.Run("blip/greedy-kv-cache", func(b *testing.B) {
		px, _ := imageproc.Preprocess(img, blipC.pre)
		for b.Loop() {
			t0 := time.Now()
			if _, err := bm.Greedy(px, nil, 20); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/caption")
		}
	})
}

// BenchmarkITMRerankFullSize times BLIP-base ITM re-ranking: per candidate
// (image tower + one matching pass), and a top-50 re-rank.
func BenchmarkITMRerankFullSize(b *testing.B) {
	cfg := blip.DefaultConfig()
	m, err := blip.RandomITM(cfg, 2)
	if err != nil {
		b.Fatal(err)
	}
	pre := imageproc.DefaultBLIP(cfg.Vision.ImageSize)
	px, _ := imageproc.Preprocess(testImage(), pre)
	ids := make([]int, 12)
	for i := range ids {
		ids[i] = 1000 + i
	}
	ids[0] = 101
	for b.Loop() {
		t0 := time.Now()
		emb, err := m.ImageEmbeds(px, 1)
		if err != nil {
			b.Fatal(err)
		}
		tImg := time.Since(t0)
		t1 := time.Now()
		if _, err := m.ITMLogits(emb, [][]int{ids}, nil); err != nil {
			b.Fatal(err)
		}
		tITM := time.Since(t1)
		b.ReportMetric(float64(tImg.Milliseconds()), "ms-image-tower")
		b.ReportMetric(float64(tITM.Milliseconds()), "ms-itm-pass")
		b.ReportMetric(50*float64((tImg+tITM).Milliseconds())/1000, "s-top50-text-query")
		b.ReportMetric(float64((tImg+50*tITM).Milliseconds())/1000, "s-top50-image-query")
		// A text → image re-rank of 50 candidates whose tokens were cached
		// at ingest: MatchText over chunks of RerankChunk images, as the
		// engine runs it (the float16 decode of the cache is not timed
		// here; engine.BenchmarkRerankCached times the whole path).
		all := make([]float32, 0, rerankChunk*len(emb))
		for range rerankChunk {
			all = append(all, emb...)
		}
		t2 := time.Now()
		for done := 0; done < 50; done += rerankChunk {
			n := min(rerankChunk, 50-done)
			if _, err := m.MatchText(all[:n*len(emb)], n, ids, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(time.Since(t2).Seconds(), "s-top50-text-query-cached")
	}
}

// rerankChunk is engine's rerankChunk: candidates matched at once.
const rerankChunk = 16
