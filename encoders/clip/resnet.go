package clip

import (
	"fmt"
	"math"

	"rosetta/encoders/nn"
)

// ResNet is open_clip's ModifiedResNet image tower (the OpenAI RN50
// family): a three-convolution stem with average pooling, four stages of
// bottleneck blocks that downsample with average pooling (anti-aliased
// strides), and attention pooling over the final feature map. Batch norms
// are folded into the convolutions at load; activations are ReLU.
type ResNet struct {
	cfg    Config
	stem   [3]*nn.Conv2d
	stages [][]bottleneck
	pool   attnPool
	width  int // stem width
}

type bottleneck struct {
	conv1, conv2, conv3 *nn.Conv2d
	stride              int
	down                *nn.Conv2d // nil: identity shortcut
}

type attnPool struct {
	pos          []float32 // [(s*s+1)*C]
	q, k, v, out *nn.Linear
	heads, dim   int
}

const bnEps = 1e-5

// convBN loads name (a conv without bias) followed by bn (a BatchNorm2d),
// folded together.
func convBN(l *loader, conv, bn string, out, in, k, stride, pad int) *nn.Conv2d {
	w := l.tensor(conv+".weight", out, in, k, k)
	g := l.tensor(bn+".weight", out)
	b := l.tensor(bn+".bias", out)
	m := l.tensor(bn+".running_mean", out)
	v := l.tensor(bn+".running_var", out)
	fw, fb := nn.FoldBatchNorm(w, nil, g, b, m, v, bnEps)
	c, err := nn.NewConv2d(fw, fb, out, in, k, stride, pad)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", conv, err))
		c, _ = nn.NewConv2d(make([]float32, out*in*k*k), nil, out, in, k, stride, pad)
	}
	return c
}

func buildResNet(l *loader, c Config, layers []int) *ResNet {
	w := c.Vision.Width
	r := &ResNet{cfg: c, width: w}
	r.stem[0] = convBN(l, "visual.conv1", "visual.bn1", w/2, 3, 3, 2, 1)
	r.stem[1] = convBN(l, "visual.conv2", "visual.bn2", w/2, w/2, 3, 1, 1)
	r.stem[2] = convBN(l, "visual.conv3", "visual.bn3", w, w/2, 3, 1, 1)
	in := w
	for s, n := range layers {
		planes := w << s
		stride := 1
		if s > 0 {
			stride = 2
		}
		var stage []bottleneck
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("visual.layer%d.%d", s+1, i)
			st := stride
			if i > 0 {
				st = 1
			}
			b := bottleneck{stride: st,
				conv1: convBN(l, p+".conv1", p+".bn1", planes, in, 1, 1, 0),
				conv2: convBN(l, p+".conv2", p+".bn2", planes, planes, 3, 1, 1),
				conv3: convBN(l, p+".conv3", p+".bn3", planes*4, planes, 1, 1, 0)}
			if st > 1 || in != planes*4 {
				b.down = convBN(l, p+".downsample.0", p+".downsample.1", planes*4, in, 1, 1, 0)
			}
			stage = append(stage, b)
			in = planes * 4
		}
		r.stages = append(r.stages, stage)
	}
	// Attention pooling: embed dim = width*32, output = EmbedDim.
	dim := w * 32
	spatial := c.ImageSize / 32
	r.pool = attnPool{dim: dim, heads: c.Vision.Heads,
		pos: l.tensor("visual.attnpool.positional_embedding", spatial*spatial+1, dim),
		q:   l.linear("visual.attnpool.q_proj", dim, dim, true),
		k:   l.linear("visual.attnpool.k_proj", dim, dim, true),
		v:   l.linear("visual.attnpool.v_proj", dim, dim, true),
		out: l.linear("visual.attnpool.c_proj", c.EmbedDim, dim, true)}
	if r.pool.heads <= 0 || dim%r.pool.heads != 0 {
		l.errs = append(l.errs, fmt.Errorf("attention pool: %d heads do not divide %d", r.pool.heads, dim))
		r.pool.heads = 1
	}
	if in != dim {
		l.errs = append(l.errs, fmt.Errorf("resnet ends with %d channels, attention pool expects %d", in, dim))
	}
	return r
}

// Forward encodes a batch of CHW pixel tensors into [batch*EmbedDim]
// features (not normalised), as open_clip's encode_image does.
func (r *ResNet) Forward(pixels []float32, batch int) ([]float32, error) {
	s := r.cfg.ImageSize
	if len(pixels) != batch*3*s*s {
		return nil, fmt.Errorf("%w: pixels have %d values, want %d×3×%d×%d", nn.ErrShape, len(pixels), batch, s, s)
	}
	out := make([]float32, batch*r.cfg.EmbedDim)
	var cols []float32
	for b := 0; b < batch; b++ {
		img := pixels[b*3*s*s : (b+1)*3*s*s]
		x := make([]float32, s*s*3) // CHW → HWC
		for c := 0; c < 3; c++ {
			for i := 0; i < s*s; i++ {
				x[i*3+c] = img[c*s*s+i]
			}
		}
		h, w := s, s
		for _, conv := range r.stem {
			x, h, w = conv.Forward(x, h, w, &cols)
			nn.ReLU(x)
		}
		x, h, w = nn.AvgPool(x, h, w, r.width, 2)
		for _, stage := range r.stages {
			for _, bl := range stage {
				x, h, w = bl.forward(x, h, w, &cols)
			}
		}
		r.pool.forward(x, h*w, out[b*r.cfg.EmbedDim:(b+1)*r.cfg.EmbedDim])
	}
	return out, nil
}

func (b *bottleneck) forward(x []float32, h, w int, cols *[]float32) ([]float32, int, int) {
	y, yh, yw := b.conv1.Forward(x, h, w, cols)
	nn.ReLU(y)
	y, yh, yw = b.conv2.Forward(y, yh, yw, cols)
	nn.ReLU(y)
	y, yh, yw = nn.AvgPool(y, yh, yw, b.conv2.Out, b.stride)
	y, yh, yw = b.conv3.Forward(y, yh, yw, cols)
	id := x
	if b.down != nil {
		p, ph, pw := nn.AvgPool(x, h, w, b.conv1.In, b.stride)
		id, _, _ = b.down.Forward(p, ph, pw, cols)
	}
	nn.Add(y, id)
	nn.ReLU(y)
	return y, yh, yw
}

// forward pools n spatial tokens ([n*dim], HWC order = row-major) into out:
// the mean token is prepended, positions added, and the mean token attends
// to all n+1 tokens.
func (p *attnPool) forward(x []float32, n int, out []float32) {
	d := p.dim
	t := n + 1
	tok := make([]float32, t*d)
	for i := 0; i < n; i++ {
		nn.Add(tok[:d], x[i*d:(i+1)*d])
	}
	inv := 1 / float32(n)
	for c := 0; c < d; c++ {
		tok[c] *= inv
	}
	copy(tok[d:], x[:n*d])
	nn.Add(tok, p.pos)
	q := make([]float32, d)
	p.q.Forward(tok[:d], 1, q)
	k := make([]float32, t*d)
	v := make([]float32, t*d)
	p.k.Forward(tok, t, k)
	p.v.Forward(tok, t, v)
	hd := d / p.heads
	scale := float32(1 / math.Sqrt(float64(hd)))
	ctx := make([]float32, d)
	scores := make([]float32, t)
	for h := 0; h < p.heads; h++ {
		qh := q[h*hd : (h+1)*hd]
		for j := 0; j < t; j++ {
			var s float32
			kj := k[j*d+h*hd : j*d+(h+1)*hd]
			for i, a := range qh {
				s += a * kj[i]
			}
			scores[j] = s * scale
		}
		nn.SoftmaxRows(scores, 1, t)
		ch := ctx[h*hd : (h+1)*hd]
		for j := 0; j < t; j++ {
			vj := v[j*d+h*hd : j*d+(h+1)*hd]
			for i := range ch {
				ch[i] += scores[j] * vj[i]
			}
		}
	}
	p.out.Forward(ctx, 1, out)
}
