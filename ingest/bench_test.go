package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"rosetta/encoders"
	"rosetta/encoders/clip"
	"rosetta/encoders/imageproc"
	"rosetta/encoders/tokenizer"
	"rosetta/engine"
	"rosetta/internal/fixtures"
	"rosetta/internal/testaudio"
)

// writePhotos writes n 640×480 JPEGs of smooth random colour fields.
func writePhotos(b testing.TB, dir string, n int) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 640, 480))
		c0 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		for y := 0; y < 480; y++ {
			for x := 0; x < 640; x++ {
				img.Set(x, y, color.RGBA{c0.R + uint8(x/8), c0.G + uint8(y/8), c0.B + uint8((x+y)/16), 255})
			}
		}
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%05d.jpg", i)), buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// fullSizeEncoder is ViT-B/32 in its real shapes with random weights, with
// the fixture tokenizer and CLIP's preprocessing.
func fullSizeEncoder(b testing.TB) *clip.Encoder {
	m, err := clip.NewRandom(clip.ViTB32(), nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := tokenizer.LoadDir(fixtures.Dir(b, "tokenizer-clip"))
	if err != nil {
		b.Fatal(err)
	}
	return &clip.Encoder{Model: m, Tok: tok, Pre: imageproc.DefaultCLIP(224), ImageBatch: 8, TextBatch: 16}
}

// BenchmarkIngestViTB32 compares ingest end to end (files → decoded →
// encoded → stored and indexed) with the encoder alone (decode + preprocess
// + forward, same images) for full-size ViT-B/32 with random weights.
// go test -run XXX -bench IngestViTB32 -benchtime 1x ./ingest
func BenchmarkIngestViTB32(b *testing.B) {
	const n = 96
	enc := fullSizeEncoder(b)
	dir := b.TempDir()
	writePhotos(b, dir, n)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	for b.Loop() {
		t0 := time.Now()
		imgs := make([]image.Image, len(files))
		for i, f := range files {
			data, _ := os.ReadFile(f)
			imgs[i], _, _ = imageproc.DecodeBytes(data)
		}
		if _, err := enc.EmbedImages(context.Background(), imgs); err != nil {
			b.Fatal(err)
		}
		encOnly := time.Since(t0).Seconds()

		e, err := engine.Open(engine.Options{Dir: b.TempDir(), SnapshotEvery: -1, LoadModel: func(string) (engine.Encoder, error) { return enc, nil }})
		if err != nil {
			b.Fatal(err)
		}
		e.WaitReady(context.Background())
		t1 := time.Now()
		s, err := Run(context.Background(), EngineSink{e}, []string{dir}, Options{Collection: "c", Model: "vit", Recursive: true, Batch: 32})
		if err != nil || s.Added != n {
			b.Fatalf("%+v %v", s.Progress, err)
		}
		full := time.Since(t1).Seconds()
		e.Close()
		b.ReportMetric(n/encOnly, "encoder-images/s")
		b.ReportMetric(n/full, "ingest-images/s")
		b.ReportMetric(100*(full-encOnly)/encOnly, "overhead-%")
	}
}

// BenchmarkIngest10kMemory ingests 10 000 small images with the tiny
// fixture model and reports the process's peak resident memory, which
// the bounded pipeline keeps flat however large the folder.
func BenchmarkIngest10kMemory(b *testing.B) {
	model := tinyModel(b)
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 256, 192))
		c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		for y := 0; y < 192; y++ {
			for x := 0; x < 256; x++ {
				img.Set(x, y, color.RGBA{c.R + uint8(x), c.G + uint8(y), c.B, 255})
			}
		}
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, nil)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%05d.jpg", i)), buf.Bytes(), 0o644)
	}
	for b.Loop() {
		e, err := engine.Open(engine.Options{Dir: b.TempDir(), SnapshotEvery: -1,
			LoadModel: func(string) (engine.Encoder, error) { return clip.Open(model, nil) }})
		if err != nil {
			b.Fatal(err)
		}
		e.WaitReady(context.Background())
		runtime.GC()
		t0 := time.Now()
		s, err := Run(context.Background(), EngineSink{e}, []string{dir}, Options{Collection: "c", Model: "m", Recursive: true})
		if err != nil || s.Added != 10000 {
			b.Fatalf("%+v %v", s.Progress, err)
		}
		b.ReportMetric(10000/time.Since(t0).Seconds(), "images/s")
		e.Close()
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
}

func peakRSS() int64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkIngestOneHourAudio ingests a one-hour 16 kHz mono WAV (10 s
// windows, 2 s overlap) with the tiny fixture HuBERT and reports the peak
// resident memory of the test process.
func BenchmarkIngestOneHourAudio(b *testing.B) {
	root := b.TempDir()
	writeLongWAV(b, filepath.Join(root, "hour.wav"), 3600, 16000)
	benchIngestHour(b, root)
}

// BenchmarkIngestOneHourFLAC is BenchmarkIngestOneHourAudio with the hour
// as FLAC, which is decoded once to count it and then streamed window by
// window (audio.Sequential).
func BenchmarkIngestOneHourFLAC(b *testing.B) {
	root := b.TempDir()
	f, err := os.Create(filepath.Join(root, "hour.flac"))
	if err != nil {
		b.Fatal(err)
	}
	const rate = 16000
	bw := bufio.NewWriter(f)
	err = testaudio.WriteFLAC(bw, rate, 16, 1, 3600*rate, 4096, func(_, i int) int32 {
		t := float64(i) / rate
		return int32(int16(12000 * math.Sin(2*math.Pi*(200+float64(i/rate%50)*40)*t)))
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	benchIngestHour(b, root)
}

// benchIngestHour ingests the one file under root into a fresh engine with
// the tiny fixture HuBERT on every iteration, and reports the time, the
// segments and the process's peak RSS.
func benchIngestHour(b *testing.B, root string) {
	hub := hubertDir(b)
	for b.Loop() {
		e, err := engine.Open(engine.Options{Dir: b.TempDir(), SnapshotEvery: -1,
			LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
		if err != nil {
			b.Fatal(err)
		}
		e.WaitReady(context.Background())
		runtime.GC()
		t0 := time.Now()
		s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "c", Model: "m", Recursive: true})
		if err != nil || s.Added != 1 {
			b.Fatalf("%+v %v", s.Progress, err)
		}
		b.ReportMetric(float64(s.Segments), "segments")
		b.ReportMetric(time.Since(t0).Seconds(), "s")
		e.Close()
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
}

// writeLongWAV streams a mono PCM16 sweep to disk without holding it.
func writeLongWAV(b testing.TB, path string, seconds, rate int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n := seconds * rate
	hdr := pcmWAV(0, 0, 0, rate) // a header for zero samples, then patch the sizes
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+2*n))
	binary.LittleEndian.PutUint32(hdr[40:], uint32(2*n))
	f.Write(hdr)
	buf := make([]byte, 2*rate)
	for s := 0; s < seconds; s++ {
		for i := 0; i < rate; i++ {
			t := float64(s*rate+i) / float64(rate)
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(int16(12000*math.Sin(2*math.Pi*(200+float64(s%50)*40)*t))))
		}
		f.Write(buf)
	}
}
