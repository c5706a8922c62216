package audio

// Clip is decoded audio: Samples[c][i] is sample i of channel c, in
// [-1, 1) for integer sources. All channels have the same length.
type Clip struct {
	Rate     int // samples per second per channel
	Channels int // len(Samples)
	Samples  [][]float32
}

// Frames returns the number of samples per channel.
func (c *Clip) Frames() int {
	if c == nil || len(c.Samples) == 0 {
		return 0
	}
	return len(c.Samples[0])
}

// Mono down-mixes a clip to one channel, the mean of its channels. For a
// mono clip it returns a copy of the single channel. A nil or empty clip
// gives nil.
func Mono(c *Clip) []float32 {
	if c == nil || len(c.Samples) == 0 {
		return nil
	}
	n := c.Frames()
	out := make([]float32, n)
	if len(c.Samples) == 1 {
		copy(out, c.Samples[0])
		return out
	}
	k := float64(len(c.Samples))
	for i := range out {
		var s float64
		for _, ch := range c.Samples {
			if i < len(ch) {
				s += float64(ch[i])
			}
		}
		out[i] = float32(s / k)
	}
	return out
}
