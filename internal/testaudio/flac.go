// Package testaudio makes audio files for tests: FLAC streams written with
// github.com/mewkiz/flac's encoder, in verbatim frames.
package testaudio

import (
	"bytes"
	"io"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// FLAC encodes per-channel integer samples (one or two channels) of the
// given bit depth as a FLAC stream of block-sample frames.
func FLAC(rate, bits int, chans [][]int32, block int) ([]byte, error) {
	var buf bytes.Buffer
	err := WriteFLAC(&buf, rate, bits, len(chans), len(chans[0]), block, func(ch, i int) int32 { return chans[ch][i] })
	return buf.Bytes(), err
}

// WriteFLAC streams frames samples per channel, sample(ch, i) each, to w
// as FLAC, holding one block at a time: for test files too long to build
// in memory.
func WriteFLAC(w io.Writer, rate, bits, channels, frames, block int, sample func(ch, i int) int32) error {
	info := &meta.StreamInfo{
		BlockSizeMin: uint16(block), BlockSizeMax: uint16(block),
		SampleRate: uint32(rate), NChannels: uint8(channels), BitsPerSample: uint8(bits),
		NSamples: uint64(frames),
	}
	enc, err := flac.NewEncoder(w, info)
	if err != nil {
		return err
	}
	layout := frame.ChannelsMono
	if channels == 2 {
		layout = frame.ChannelsLR
	}
	for start := 0; start < frames; start += block {
		end := min(start+block, frames)
		f := &frame.Frame{Header: frame.Header{
			HasFixedBlockSize: true, BlockSize: uint16(end - start), SampleRate: uint32(rate),
			Channels: layout, BitsPerSample: uint8(bits),
		}}
		for ch := range channels {
			s := make([]int32, end-start)
			for i := range s {
				s[i] = sample(ch, start+i)
			}
			f.Subframes = append(f.Subframes, &frame.Subframe{
				SubHeader: frame.SubHeader{Pred: frame.PredVerbatim},
				Samples:   s,
				NSamples:  end - start,
			})
		}
		if err := enc.WriteFrame(f); err != nil {
			return err
		}
	}
	return enc.Close()
}
