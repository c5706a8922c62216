package blip

import (
	"fmt"

	"rosetta/encoders/nn"
)

// quantizeInt8 quantises the image tower's transformer layers; the patch
// embedding stays float32.
func (v *vision) quantizeInt8() error {
	if err := nn.QuantizeBlocks(v.blocks); err != nil {
		return fmt.Errorf("blip: vision: %w", err)
	}
	return nil
}

// quantizeInt8 quantises every projection of the BERT layers (self- and
// cross-attention, intermediate, output); embeddings and layer norms stay
// float32.
func (m *textModel) quantizeInt8() error {
	for i := range m.layers {
		ly := &m.layers[i]
		if err := nn.QuantizeInt8(ly.self.q, ly.self.k, ly.self.v, ly.self.dense,
			ly.cross.q, ly.cross.k, ly.cross.v, ly.cross.dense, ly.inter, ly.out); err != nil {
			return fmt.Errorf("blip: text layer %d: %w", i, err)
		}
	}
	return nil
}

// QuantizeInt8 makes the model's linear layers compute in int8
// (nn.Linear.QuantizeInt8): both towers, the ITC projections and the ITM
// head. Call it once after loading, before the model is shared.
func (m *ITM) QuantizeInt8() error {
	if err := m.vision.quantizeInt8(); err != nil {
		return err
	}
	if err := m.text.quantizeInt8(); err != nil {
		return err
	}
	if err := nn.QuantizeInt8(m.itmHead, m.visionProj, m.textProj); err != nil {
		return fmt.Errorf("blip: heads: %w", err)
	}
	return nil
}

// QuantizeInt8 makes the captioner's linear layers compute in int8
// (nn.Linear.QuantizeInt8): the image tower, the decoder's layers and its
// LM head. Greedy captions can then differ where two tokens are close.
// Call it once after loading, before the model is shared.
func (c *Captioner) QuantizeInt8() error {
	if err := c.vision.quantizeInt8(); err != nil {
		return err
	}
	if err := c.text.quantizeInt8(); err != nil {
		return err
	}
	if err := nn.QuantizeInt8(c.headDense, c.decoder); err != nil {
		return fmt.Errorf("blip: LM head: %w", err)
	}
	return nil
}
