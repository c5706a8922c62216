package whisper

import (
	"fmt"

	"rosetta/encoders/nn"
)

// QuantizeInt8 makes the encoder's and the decoder's transformer layers
// and the vocabulary logits compute in int8 (nn.Linear.QuantizeInt8). The
// two input convolutions, layer norms and embeddings stay float32 (the
// token embedding is kept as a table for lookups either way). Greedy
// decoding can then differ from openai/whisper's where two tokens are
// close. Call it once after loading, before the model is shared.
func (m *Model) QuantizeInt8() error {
	if err := nn.QuantizeBlocks(m.enc.layers); err != nil {
		return fmt.Errorf("whisper: encoder: %w", err)
	}
	d := &m.dec
	for i := range d.layers {
		ly := &d.layers[i]
		if err := nn.QuantizeInt8(ly.self.q, ly.self.k, ly.self.v, ly.self.out,
			ly.cross.q, ly.cross.k, ly.cross.v, ly.cross.out, ly.fc1, ly.fc2); err != nil {
			return fmt.Errorf("whisper: decoder layer %d: %w", i, err)
		}
	}
	if err := nn.QuantizeInt8(d.logits); err != nil {
		return fmt.Errorf("whisper: logits: %w", err)
	}
	return nil
}
