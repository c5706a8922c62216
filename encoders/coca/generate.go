package coca

import (
	"context"
	"fmt"
	"rosetta/kernels"
)

// Greedy captions batch CHW images ([batch*3*S*S]): starting from [SOT],
// it appends the argmax of the last position's logits (the lowest id on
// ties, as torch.argmax) until it has appended EOT or maxNew ids. The
// returned sequences start with SOT and include the EOT when one was
// produced. maxNew is capped so that a sequence fits the text context.
// ctx is checked between decoding steps.
func (m *Model) Greedy(ctx context.Context, pixels []float32, batch, maxNew int) ([][]int, error) {
	if maxNew < 0 {
		return nil, fmt.Errorf("%w: maxNew %d", ErrInput, maxNew)
	}
	limit := min(m.Cfg.Text.Context, m.Cfg.Decoder.Context)
	if maxNew > limit-1 {
		maxNew = limit - 1
	}
	_, tokens, err := m.EncodeImage(pixels, batch)
	if err != nil {
		return nil, err
	}
	ti, e, w, v := m.Cfg.ImageTokens(), m.Cfg.EmbedDim, m.Cfg.Decoder.Width, m.Cfg.Vocab
	out := make([][]int, batch)
	logits := make([]float32, v)
	for b := 0; b < batch; b++ {
		kv, err := m.imageKV(tokens[b*ti*e:(b+1)*ti*e], 1)
		if err != nil {
			return nil, err
		}
		seq := []int{SOT}
		for step := 0; step < maxNew; step++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			_, txt, err := m.text.forward([][]int{seq})
			if err != nil {
				return nil, err
			}
			n := len(seq)
			x, err := m.decoderHidden(kv, txt, 1, n)
			if err != nil {
				return nil, err
			}
			m.decoder.proj.Forward(x[(n-1)*w:n*w], 1, logits)
			next := kernels.Argmax(logits)
			seq = append(seq, next)
			if next == EOT {
				break
			}
		}
		out[b] = seq
	}
	return out, nil
}
