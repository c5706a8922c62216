package czlib

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestExpected compares Compress and CompressedLen with C zlib 1.2.13's
// output (testdata/expected.txt, from testdata/gen_expected.py) on every
// generated input: all sizes to 64 bytes, then up to 200 KB across block,
// window and hash-slide boundaries, and four of 300 KB to 1 MB.
func TestExpected(t *testing.T) {
	f, err := os.Open("testdata/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cases := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var kind, digest string
		var seed uint64
		var size, want int
		if _, err := fmt.Sscan(line, &kind, &seed, &size, &want, &digest); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if testing.Short() && size > 200_000 {
			continue
		}
		cases++
		in := generate(kind, seed, size)
		out := Compress(in)
		sum := sha256.Sum256(out)
		if len(out) != want || hex.EncodeToString(sum[:]) != digest {
			t.Errorf("%s seed %d size %d: %d bytes (sha256 %x), C zlib %d (sha256 %s)",
				kind, seed, size, len(out), sum[:4], want, digest[:8])
		}
		if n := CompressedLen(in); n != want {
			t.Errorf("%s seed %d size %d: CompressedLen %d, C zlib %d", kind, seed, size, n, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases < 900 {
		t.Fatalf("only %d cases in testdata/expected.txt", cases)
	}
}

// pythonZlib returns a python3 whose zlib module links C zlib 1.2.11 to
// 1.3.x (not zlib-ng), or skips the test.
func pythonZlib(t *testing.T) string {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	v, err := exec.Command(py, "-c", "import zlib; print(zlib.ZLIB_RUNTIME_VERSION)").Output()
	if err != nil {
		t.Skipf("python3 has no zlib: %v", err)
	}
	ver := strings.TrimSpace(string(v))
	if !regexp.MustCompile(`^(1\.2\.1[1-9]|1\.3(\.\d+)?)$`).MatchString(ver) {
		t.Skipf("python3's zlib is %q, not C zlib 1.2.11–1.3.x", ver)
	}
	return py
}

// TestAgainstPython compresses fresh random inputs here and in python3's
// zlib (when there is one) and compares the bytes.
func TestAgainstPython(t *testing.T) {
	py := pythonZlib(t)
	const script = `import sys, zlib, struct
i, o = sys.stdin.buffer, sys.stdout.buffer
while True:
    h = i.read(4)
    if len(h) < 4: break
    c = zlib.compress(i.read(struct.unpack("<I", h)[0]))
    o.write(struct.pack("<I", len(c)) + c)
o.flush()
`
	var inputs [][]byte
	r := &rng{uint64(os.Getpid())}
	for range 200 {
		size := r.below(1 << (4 + r.below(14)))
		inputs = append(inputs, generate(kinds[r.below(len(kinds))], r.next(), size))
	}
	var req bytes.Buffer
	for _, in := range inputs {
		req.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(in))))
		req.Write(in)
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = &req
	resp, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	for i, in := range inputs {
		if len(resp) < 4 {
			t.Fatalf("python3 answered %d of %d inputs", i, len(inputs))
		}
		n := int(binary.LittleEndian.Uint32(resp))
		want := resp[4 : 4+n]
		resp = resp[4+n:]
		if got := Compress(in); !bytes.Equal(got, want) {
			t.Errorf("input %d (%d bytes, %q…): %d bytes, C zlib %d", i, len(in), in[:min(len(in), 16)], len(got), len(want))
		}
	}
}

func TestCompressionRatioExamples(t *testing.T) {
	// Python: len(s) / len(zlib.compress(s)) for these strings.
	for _, c := range []struct {
		text string
		want int
	}{
		{"", 8},
		{"a", 9},
		{" the the the the the the the the the the", 15},
		{" And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.", 79},
	} {
		if n := CompressedLen([]byte(c.text)); n != c.want {
			t.Errorf("CompressedLen(%q) = %d, want %d", c.text, n, c.want)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	for i, k := range kinds {
		f.Add(generate(k, uint64(i), 300+i*997))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Compress(in)
		if n := CompressedLen(in); n != len(out) {
			t.Fatalf("CompressedLen %d, Compress wrote %d", n, len(out))
		}
		zr, err := zlib.NewReader(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, in) {
			t.Fatalf("round trip of %d bytes gave %d bytes", len(in), len(back))
		}
	})
}

func BenchmarkCompressedLen(b *testing.B) {
	for _, size := range []int{200, 100_000} {
		in := generate("text", 1, size)
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				CompressedLen(in)
			}
		})
	}
}
