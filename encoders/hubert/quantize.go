package hubert

import (
	"fmt"

	"rosetta/encoders/nn"
)

// QuantizeInt8 makes the transformer's linear layers and the feature
// projection compute in int8 (nn.Linear.QuantizeInt8). The convolutional
// feature encoder and the positional convolution stay float32: their
// first layer sees the raw waveform through a 10-tap filter, too short a
// sum for 8-bit inputs. Call it once after loading, before the model is
// shared.
func (m *Model) QuantizeInt8() error {
	if err := nn.QuantizeInt8(m.proj); err != nil {
		return fmt.Errorf("hubert: feature projection: %w", err)
	}
	for i := range m.layers {
		ly := &m.layers[i]
		if err := ly.attn.QuantizeInt8(); err != nil {
			return fmt.Errorf("hubert: layer %d: %w", i, err)
		}
		if err := nn.QuantizeInt8(ly.fc1, ly.fc2); err != nil {
			return fmt.Errorf("hubert: layer %d: %w", i, err)
		}
	}
	return nil
}
