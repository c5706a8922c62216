package coca

import (
	"fmt"

	"rosetta/encoders/nn"
)

// QuantizeInt8 makes the model's linear layers compute in int8
// (nn.Linear.QuantizeInt8): the image and text towers, the attentional
// pooler, the projections and the multimodal decoder (self- and
// cross-attention blocks and the vocabulary projection). The patch
// embedding, layer norms and embeddings stay float32. Call it once after
// loading, before the model is shared.
func (m *Model) QuantizeInt8() error {
	v := m.vision
	if err := nn.QuantizeBlocks(v.blocks); err != nil {
		return fmt.Errorf("coca: vision: %w", err)
	}
	if err := nn.QuantizeInt8(v.pool.k, v.pool.v, v.pool.out, v.proj); err != nil {
		return fmt.Errorf("coca: vision pooler: %w", err)
	}
	if err := nn.QuantizeBlocks(m.text.blocks); err != nil {
		return fmt.Errorf("coca: text: %w", err)
	}
	if err := nn.QuantizeInt8(m.text.proj); err != nil {
		return fmt.Errorf("coca: text projection: %w", err)
	}
	d := m.decoder
	if err := nn.QuantizeBlocks(d.self); err != nil {
		return fmt.Errorf("coca: decoder: %w", err)
	}
	for i := range d.cross {
		c := &d.cross[i]
		if err := nn.QuantizeInt8(c.q, c.kv, c.out, c.fc1, c.fc2); err != nil {
			return fmt.Errorf("coca: decoder cross layer %d: %w", i, err)
		}
	}
	if err := nn.QuantizeInt8(d.proj); err != nil {
		return fmt.Errorf("coca: decoder projection: %w", err)
	}
	return nil
}
