package nn

import "fmt"

// Block is a pre-norm transformer layer as CLIP uses it:
//
//	x = x + Attn(LN1(x));  x = x + FC2(act(FC1(LN2(x))))
type Block struct {
	LN1, LN2 LayerNorm
	Attn     Attention
	FC1, FC2 *Linear
	Act      Activation
}

// QuantizeInt8 quantises the block's linear layers (Linear.QuantizeInt8);
// the layer norms stay float32.
func (bl *Block) QuantizeInt8() error {
	if err := bl.Attn.QuantizeInt8(); err != nil {
		return err
	}
	return QuantizeInt8(bl.FC1, bl.FC2)
}

// QuantizeBlocks quantises every block of a tower.
func QuantizeBlocks(blocks []Block) error {
	for i := range blocks {
		if err := blocks[i].QuantizeInt8(); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return nil
}

// BlockScratch holds one forward pass's temporaries; reuse it across calls
// from the same goroutine.
type BlockScratch struct {
	norm, hidden, attnScratch []float32
}

func grow(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return (*b)[:n]
}

// Forward updates x ([batch*t*D]) in place. Both residual adds are fused
// into the products that end their branch (the attention's output
// projection and FC2 add into x), and the activation into FC1.
func (bl *Block) Forward(x []float32, batch, t int, mask func(int) Mask, s *BlockScratch) {
	d := bl.Attn.Dim
	rows := batch * t
	norm := grow(&s.norm, rows*d)
	bl.LN1.Forward(x, rows, norm)
	bl.Attn.forward(norm, batch, t, mask, x, true, &s.attnScratch)
	bl.LN2.Forward(x, rows, norm)
	hidden := grow(&s.hidden, rows*bl.FC1.Out)
	bl.FC1.ForwardAct(norm, rows, hidden, bl.Act)
	bl.FC2.ForwardAdd(hidden, rows, x)
}
