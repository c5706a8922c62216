package clip

import (
	"fmt"

	"rosetta/encoders/nn"
)

// QuantizeInt8 makes every linear layer of both towers compute in int8
// (nn.Linear.QuantizeInt8): attention projections, MLPs, the output
// projections and a ResNet's attention pool. The patch embedding, the
// ResNet's convolutions, layer norms and embeddings stay float32. Call it
// once after loading, before the model is shared; it is a no-op the
// second time.
func (m *Model) QuantizeInt8() error {
	if v := m.Vision; v != nil {
		if err := nn.QuantizeBlocks(v.blocks); err != nil {
			return fmt.Errorf("clip: vision: %w", err)
		}
		if err := nn.QuantizeInt8(v.proj); err != nil {
			return fmt.Errorf("clip: vision projection: %w", err)
		}
	}
	if r := m.ResNet; r != nil {
		if err := nn.QuantizeInt8(r.pool.q, r.pool.k, r.pool.v, r.pool.out); err != nil {
			return fmt.Errorf("clip: attention pool: %w", err)
		}
	}
	if t := m.Text; t != nil {
		if err := nn.QuantizeBlocks(t.blocks); err != nil {
			return fmt.Errorf("clip: text: %w", err)
		}
		if err := nn.QuantizeInt8(t.proj); err != nil {
			return fmt.Errorf("clip: text projection: %w", err)
		}
	}
	return nil
}

// QuantizeInt8 quantises the encoder's model (Model.QuantizeInt8).
func (e *Encoder) QuantizeInt8() error { return e.Model.QuantizeInt8() }
