package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// wavOpts describes a synthetic WAV file for tests.
type wavOpts struct {
	tag        uint16
	channels   int
	rate       int
	bits       int
	extensible bool
	subTag     uint16
}

// makeWAV builds a RIFF/WAVE file with the given raw sample bytes.
func makeWAV(o wavOpts, raw []byte) []byte {
	var fmtc bytes.Buffer
	le := binary.LittleEndian
	tag := o.tag
	if o.extensible {
		tag = waveExtensible
	}
	binary.Write(&fmtc, le, tag)
	binary.Write(&fmtc, le, uint16(o.channels))
	binary.Write(&fmtc, le, uint32(o.rate))
	binary.Write(&fmtc, le, uint32(o.rate*o.channels*o.bits/8))
	binary.Write(&fmtc, le, uint16(o.channels*o.bits/8))
	binary.Write(&fmtc, le, uint16(o.bits))
	if o.extensible {
		binary.Write(&fmtc, le, uint16(22))
		binary.Write(&fmtc, le, uint16(o.bits))
		binary.Write(&fmtc, le, uint32(0))
		binary.Write(&fmtc, le, o.subTag)
		fmtc.Write(subFormatTail)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(4+8+fmtc.Len()+8+len(raw)))
	b.WriteString("WAVE")
	// An unknown chunk first, with odd size and a pad byte.
	b.WriteString("junk")
	binary.Write(&b, le, uint32(3))
	b.Write([]byte{1, 2, 3, 0})
	b.WriteString("fmt ")
	binary.Write(&b, le, uint32(fmtc.Len()))
	b.Write(fmtc.Bytes())
	b.WriteString("data")
	binary.Write(&b, le, uint32(len(raw)))
	b.Write(raw)
	return b.Bytes()
}

func TestDecodeWAVFormats(t *testing.T) {
	le := binary.LittleEndian
	i16 := func(v ...int16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			le.PutUint16(b[2*i:], uint16(x))
		}
		return b
	}
	i24 := func(v ...int32) []byte {
		var b []byte
		for _, x := range v {
			b = append(b, byte(x), byte(x>>8), byte(x>>16))
		}
		return b
	}
	i32 := func(v ...int32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], uint32(x))
		}
		return b
	}
	f32 := func(v ...float32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	f64 := func(v ...float64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			le.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	tests := []struct {
		name string
		o    wavOpts
		raw  []byte
		want [][]float32
	}{
		{"u8 mono", wavOpts{tag: 1, channels: 1, rate: 8000, bits: 8}, []byte{0, 128, 255, 64},
			[][]float32{{-1, 0, 127.0 / 128, -0.5}}},
		{"s16 stereo", wavOpts{tag: 1, channels: 2, rate: 44100, bits: 16}, i16(-32768, 32767, 1, -1),
			[][]float32{{-1, 1.0 / 32768}, {32767.0 / 32768, -1.0 / 32768}}},
		{"s24 mono", wavOpts{tag: 1, channels: 1, rate: 48000, bits: 24}, i24(-8388608, 8388607, 1, -2),
			[][]float32{{-1, 8388607.0 / 8388608, 1.0 / 8388608, -2.0 / 8388608}}},
		{"s32 mono", wavOpts{tag: 1, channels: 1, rate: 16000, bits: 32}, i32(math.MinInt32, 1<<30, -1),
			[][]float32{{-1, 0.5, float32(-1.0 / 2147483648)}}},
		{"f32 stereo", wavOpts{tag: 3, channels: 2, rate: 22050, bits: 32}, f32(0.25, -0.5, 1.5, 0),
			[][]float32{{0.25, 1.5}, {-0.5, 0}}},
		{"f64 mono", wavOpts{tag: 3, channels: 1, rate: 96000, bits: 64}, f64(0.125, -0.75),
			[][]float32{{0.125, -0.75}}},
		{"extensible s16 3ch", wavOpts{extensible: true, subTag: 1, channels: 3, rate: 16000, bits: 16}, i16(1, 2, 3, 4, 5, 6),
			[][]float32{{1.0 / 32768, 4.0 / 32768}, {2.0 / 32768, 5.0 / 32768}, {3.0 / 32768, 6.0 / 32768}}},
		{"extensible f32", wavOpts{extensible: true, subTag: 3, channels: 1, rate: 16000, bits: 32}, f32(0.5),
			[][]float32{{0.5}}},
		{"empty data", wavOpts{tag: 1, channels: 2, rate: 16000, bits: 16}, nil,
			[][]float32{{}, {}}},
		{"partial frame dropped", wavOpts{tag: 1, channels: 2, rate: 16000, bits: 16}, append(i16(100, 200), 7),
			[][]float32{{100.0 / 32768}, {200.0 / 32768}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := makeWAV(tc.o, tc.raw)
			c, err := DecodeWAV(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if c.Rate != tc.o.rate || c.Channels != tc.o.channels || len(c.Samples) != tc.o.channels {
				t.Fatalf("rate %d channels %d (%d slices), want %d %d", c.Rate, c.Channels, len(c.Samples), tc.o.rate, tc.o.channels)
			}
			for ch := range tc.want {
				if len(c.Samples[ch]) != len(tc.want[ch]) {
					t.Fatalf("channel %d: %d samples, want %d", ch, len(c.Samples[ch]), len(tc.want[ch]))
				}
				for i, w := range tc.want[ch] {
					if c.Samples[ch][i] != w {
						t.Errorf("channel %d sample %d = %v, want %v", ch, i, c.Samples[ch][i], w)
					}
				}
			}
			// Decode sniffs the same bytes.
			c2, err := Decode(data)
			if err != nil || c2.Frames() != c.Frames() {
				t.Fatalf("Decode: %v, %d frames", err, c2.Frames())
			}
		})
	}
}

func TestDecodeWAVTruncatedData(t *testing.T) {
	// A streaming writer's data size runs past the end: read what is there.
	data := makeWAV(wavOpts{tag: 1, channels: 1, rate: 8000, bits: 16}, []byte{0, 64, 0, 192})
	binary.LittleEndian.PutUint32(data[len(data)-8:], 0xFFFFFFFF)
	c, err := DecodeWAV(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Samples[0]; len(got) != 2 || got[0] != 0.5 || got[1] != -0.5 {
		t.Fatalf("samples %v", got)
	}
}

// TestDecodeWAVTruncatedOpen: a data chunk that claims far more than the
// file holds gives the frames present to every reader, not the claim.
func TestDecodeWAVTruncatedOpen(t *testing.T) {
	const frames, present = 1000, 600
	data := makeWAV(wavOpts{tag: 1, channels: 2, rate: 16000, bits: 16}, make([]byte, 4*frames))
	binary.LittleEndian.PutUint32(data[len(data)-4*frames-4:], 1<<31) // 2 GiB of samples, it says
	data = data[:len(data)-4*(frames-present)-1]                      // and a partial frame at the end
	c, err := Decode(data)
	if err != nil || c.Frames() != present-1 {
		t.Fatalf("Decode: %v, %d frames, want %d", err, c.Frames(), present-1)
	}
	w, err := OpenWAV(data)
	if err != nil || w.Frames() != present-1 {
		t.Fatalf("OpenWAV: %v, %d frames", err, w.Frames())
	}
	r, err := Open(data)
	if err != nil || r.Frames() != present-1 {
		t.Fatalf("Open: %v, %d frames", err, r.Frames())
	}
}

// TestWAVRateRange: only MinRate..MaxRate Hz is accepted, by every
// reader, with an error that names the rate and the range. A header that
// says 1 Hz would make a few hundred bytes into minutes of audio.
func TestWAVRateRange(t *testing.T) {
	tests := []struct {
		rate int
		want error // nil: accepted
	}{
		{0, ErrCorrupt},
		{1, ErrUnsupported},
		{8, ErrUnsupported},
		{100, ErrUnsupported},
		{MinRate - 1, ErrUnsupported},
		{MinRate, nil},
		{16000, nil},
		{MaxRate, nil},
		{MaxRate + 1, ErrUnsupported},
		{768000, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			// 590 one-byte samples: 590 s at 1 Hz.
			data := makeWAV(wavOpts{tag: 1, channels: 1, rate: tc.rate, bits: 8}, bytes.Repeat([]byte{128}, 590))
			c, err := Decode(data)
			_, werr := OpenWAV(data)
			_, oerr := Open(data)
			rerr := CheckRate(tc.rate)
			if tc.want == nil {
				if err != nil || werr != nil || oerr != nil || rerr != nil {
					t.Fatalf("refused: %v / %v / %v / %v", err, werr, oerr, rerr)
				}
				if c.Rate != tc.rate || c.Frames() != 590 {
					t.Fatalf("%d Hz, %d frames", c.Rate, c.Frames())
				}
				return
			}
			for _, e := range []error{err, werr, oerr, rerr} {
				if !errors.Is(e, tc.want) {
					t.Fatalf("err = %v, want %v", e, tc.want)
				}
				for _, s := range []string{fmt.Sprint(tc.rate), fmt.Sprintf("%d–%d Hz", MinRate, MaxRate)} {
					if !strings.Contains(e.Error(), s) {
						t.Errorf("%q does not name %s", e, s)
					}
				}
			}
		})
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	good := makeWAV(wavOpts{tag: 1, channels: 1, rate: 16000, bits: 16}, []byte{1, 0, 2, 0})
	// Offset of the fmt chunk body: RIFF(12) + junk(8+4) + "fmt "(8).
	const fmtAt = 12 + 12 + 8
	patch := func(off int, v ...byte) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], v)
		return b
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"short header", good[:10], ErrCorrupt},
		{"not riff", patch(0, 'X'), ErrCorrupt},
		{"truncated in fmt", good[:fmtAt+6], ErrCorrupt},
		{"no data chunk", good[:fmtAt+16], ErrCorrupt},
		{"zero rate", patch(fmtAt+4, u32(0)...), ErrCorrupt},
		{"absurd rate", patch(fmtAt+4, u32(768001)...), ErrUnsupported},
		{"4 GHz rate", patch(fmtAt+4, u32(0xFFFFFFFF)...), ErrUnsupported},
		{"zero channels", patch(fmtAt+2, u16(0)...), ErrCorrupt},
		{"65 channels", patch(fmtAt+2, u16(65)...), ErrCorrupt},
		{"block align too small", patch(fmtAt+12, u16(1)...), ErrCorrupt},
		{"adpcm", patch(fmtAt, u16(2)...), ErrUnsupported},
		{"12-bit", patch(fmtAt+14, u16(12)...), ErrUnsupported},
		{"float16", patch(fmtAt, u16(3)...), ErrUnsupported},
		{"rf64", patch(0, 'R', 'F', '6', '4'), ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeWAV(bytes.NewReader(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeSniff(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
		err  error
	}{
		{"truncated flac", []byte("fLaC\x00\x00\x00\x22"), "flac", ErrCorrupt},
		{"truncated ogg", []byte("OggS\x00\x02"), "ogg", ErrCorrupt},
		{"truncated mp3 id3", []byte("ID3\x04\x00"), "mp3", ErrCorrupt},
		{"truncated mp3 sync", []byte{0xFF, 0xFB, 0x90, 0x00}, "mp3", ErrCorrupt},
		{"aiff", []byte("FORM\x00\x00\x00\x10AIFF"), "aiff", ErrUnsupported},
		{"garbage", []byte("hello world"), "", ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sniff(tc.data); got != tc.want {
				t.Fatalf("Sniff = %q, want %q", got, tc.want)
			}
			_, err := Decode(tc.data)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Decode err = %v, want %v", err, tc.err)
			}
			if tc.want != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(makeWAV(wavOpts{tag: 1, channels: 2, rate: 16000, bits: 16}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(makeWAV(wavOpts{tag: 1, channels: 1, rate: 8000, bits: 24}, []byte{1, 2, 3}))
	f.Add(makeWAV(wavOpts{extensible: true, subTag: 3, channels: 1, rate: 8000, bits: 32}, []byte{0, 0, 128, 63}))
	f.Add(makeWAV(wavOpts{tag: 1, channels: 1, rate: MinRate, bits: 8}, []byte{1, 2, 3}))
	f.Add(makeWAV(wavOpts{tag: 1, channels: 1, rate: 1, bits: 8}, bytes.Repeat([]byte{128}, 590)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeWAV(bytes.NewReader(data))
		if Sniff(data) == "wav" {
			// OpenReaderAt parses the same header and gives the same samples.
			rec, err2 := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
			if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
				t.Fatalf("DecodeWAV %v, OpenReaderAt %v", err, err2)
			}
			if err == nil {
				x, err := rec.Range(0, rec.Frames())
				if err != nil || !slices.EqualFunc(x, Mono(c), func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
					t.Fatalf("OpenReaderAt's samples differ from DecodeWAV's (%v)", err)
				}
			}
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		if c.Rate < MinRate || c.Rate > MaxRate || c.Channels < 1 || c.Channels > MaxChannels || len(c.Samples) != c.Channels {
			t.Fatalf("bad clip header %d Hz %d ch %d slices", c.Rate, c.Channels, len(c.Samples))
		}
		if c.Frames()*c.Channels > len(data) {
			t.Fatalf("%d samples from %d bytes", c.Frames()*c.Channels, len(data))
		}
		for _, ch := range c.Samples {
			if len(ch) != c.Frames() {
				t.Fatal("ragged channels")
			}
		}
		_ = Mono(c)
	})
}
