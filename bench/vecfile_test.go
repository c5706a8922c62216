package bench

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plainReader hides the Len method of the reader it wraps, so the parsers
// cannot presize and must stream.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

func testMatrix(rows, dim int) *Matrix {
	m := &Matrix{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
	for i := range m.Data {
		m.Data[i] = float32(i)*0.25 - 3
	}
	return m
}

func sameMatrix(t *testing.T, got, want *Matrix) {
	t.Helper()
	if got.Rows != want.Rows || got.Dim != want.Dim || len(got.Data) != len(want.Data) {
		t.Fatalf("shape %dx%d (%d values), want %dx%d (%d)", got.Rows, got.Dim, len(got.Data), want.Rows, want.Dim, len(want.Data))
	}
	for i := range want.Data {
		if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
			t.Fatalf("value %d = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}

func sameIDs(t *testing.T, got, want *IDMatrix) {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols || len(got.Data) != len(want.Data) {
		t.Fatalf("shape %dx%d (%d values), want %dx%d (%d)", got.Rows, got.Cols, len(got.Data), want.Rows, want.Cols, len(want.Data))
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("id %d = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}

// vecsRow appends one *vecs row with the given dimension header and body.
func vecsRow(b []byte, dim int32, body []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(dim))
	return append(b, body...)
}

func fvecsBytes(t testing.TB, m *Matrix) []byte {
	var buf bytes.Buffer
	if err := WriteFvecs(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func npyBytes(t testing.TB, m *Matrix) []byte {
	var buf bytes.Buffer
	if err := WriteNpy(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// npyFile builds a .npy file with the given version, header dict and data.
func npyFile(major byte, dict string, data []byte) []byte {
	b := []byte("\x93NUMPY")
	b = append(b, major, 0)
	hdr := dict + "\n"
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	}
	b = append(b, hdr...)
	return append(b, data...)
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", substr)
	}
	if !strings.HasPrefix(err.Error(), "bench: ") {
		t.Errorf("error %q does not start with \"bench: \"", err)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not contain %q", err, substr)
	}
}

func TestVecsFvecsRoundTrip(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {3, 5}, {100, 128}, {2, 40000}} {
		m := testMatrix(shape[0], shape[1])
		m.Data[0] = float32(math.NaN())
		m.Data[len(m.Data)-1] = float32(math.Inf(-1))
		b := fvecsBytes(t, m)
		got, err := ParseFvecs(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, got, m)
		got, err = ParseFvecs(plainReader{bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, got, m)
	}
}

func TestVecsBvecs(t *testing.T) {
	var b []byte
	b = vecsRow(b, 3, []byte{0, 1, 255})
	b = vecsRow(b, 3, []byte{7, 8, 9})
	got, err := ParseBvecs(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, got, &Matrix{Rows: 2, Dim: 3, Data: []float32{0, 1, 255, 7, 8, 9}})
}

func TestVecsIvecsRoundTrip(t *testing.T) {
	m := &IDMatrix{Rows: 3, Cols: 2, Data: []int64{0, 1, math.MaxInt32, math.MinInt32, -1, 42}}
	var buf bytes.Buffer
	if err := WriteIvecs(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := ParseIvecs(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, m)

	wantErr(t, WriteIvecs(&buf, &IDMatrix{Rows: 1, Cols: 1, Data: []int64{1 << 40}}), "int32")
}

func TestNpyRoundTrip(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {3, 5}, {100, 128}, {123456, 1}} {
		m := testMatrix(shape[0], shape[1])
		b := npyBytes(t, m)
		if (bytes.IndexByte(b, '\n')+1)%64 != 0 {
			t.Errorf("header of %v is not 64-byte aligned", shape)
		}
		got, err := ParseNpyVectors(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, got, m)
		got, err = ParseNpyVectors(plainReader{bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, got, m)
	}
}

func TestNpyHandBuilt(t *testing.T) {
	// '<f8', version 1.0, narrowed to float32.
	var f8 []byte
	for _, v := range []float64{1.5, -2, 1e10, 0.1} {
		f8 = binary.LittleEndian.AppendUint64(f8, math.Float64bits(v))
	}
	m, err := ParseNpyVectors(bytes.NewReader(npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8)))
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, m, &Matrix{Rows: 2, Dim: 2, Data: []float32{1.5, -2, 1e10, float32(0.1)}})

	// '|u1', version 2.0, double quotes, no trailing comma, odd spacing.
	m, err = ParseNpyVectors(bytes.NewReader(npyFile(2, `{"shape":(1,3),"fortran_order":False,"descr":"|u1"}`, []byte{1, 2, 200})))
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, m, &Matrix{Rows: 1, Dim: 3, Data: []float32{1, 2, 200}})

	// '<i8' ids, version 3.0, Python 2 style long ints.
	var i8 []byte
	for _, v := range []int64{5, -1, 1 << 40} {
		i8 = binary.LittleEndian.AppendUint64(i8, uint64(v))
	}
	ids, err := ParseNpyIDs(bytes.NewReader(npyFile(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (3L, 1L), }", i8)))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, ids, &IDMatrix{Rows: 3, Cols: 1, Data: []int64{5, -1, 1 << 40}})

	// '<i4' ids, 1-D read as one column.
	var i4 []byte
	for _, v := range []int32{7, -3} {
		i4 = binary.LittleEndian.AppendUint32(i4, uint32(v))
	}
	ids, err = ParseNpyIDs(bytes.NewReader(npyFile(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", i4)))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, ids, &IDMatrix{Rows: 2, Cols: 1, Data: []int64{7, -3}})
}

func TestVecsMalformed(t *testing.T) {
	row := func(dim int32, n int) []byte { return vecsRow(nil, dim, make([]byte, n)) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "empty", nil},
		{"short header", "row 0 (offset 0)", []byte{4, 0}},
		{"zero dim", "invalid dimension 0", row(0, 0)},
		{"negative dim", "invalid dimension -1", row(-1, 0)},
		{"huge dim", "invalid dimension", row(1<<20+1, 0)},
		{"truncated row", "truncated", row(4, 15)},
		{"truncated second row", "row 1 (offset 20)", cat(row(4, 16), row(4, 3))},
		{"dim mismatch", "differs", cat(row(4, 16), row(3, 12))},
		{"trailing garbage", "row 2 (offset 40)", cat(row(4, 16), row(4, 16), []byte{1})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFvecs(bytes.NewReader(c.data))
			wantErr(t, err, c.want)
			_, err = ParseFvecs(plainReader{bytes.NewReader(c.data)})
			wantErr(t, err, c.want)
		})
	}
	_, err := ParseBvecs(bytes.NewReader(row(4, 3)))
	wantErr(t, err, "truncated")
	_, err = ParseIvecs(bytes.NewReader(nil))
	wantErr(t, err, "empty")
	_, err = ParseIvecs(bytes.NewReader(cat(row(2, 8), row(1, 4))))
	wantErr(t, err, "differs")
}

func TestNpyMalformed(t *testing.T) {
	good := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	data := make([]byte, 24)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "empty", nil},
		{"bad magic", "magic", append([]byte("\x93NUMPX\x01\x00"), npyFile(1, good, data)[8:]...)},
		{"short preamble", "truncated", []byte("\x93NUM")},
		{"bad version", "version 4.0", append([]byte("\x93NUMPY\x04\x00"), npyFile(1, good, data)[8:]...)},
		{"truncated header", "header", npyFile(1, good, nil)[:30]},
		{"truncated data", "truncated", npyFile(1, good, data[:23])},
		{"trailing garbage", "trailing", npyFile(1, good, append(data, 0))},
		{"fortran", "fortran_order", npyFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)},
		{"big endian", "big-endian", npyFile(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data)},
		{"f2", "unsupported dtype", npyFile(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", data[:12])},
		{"structured", "not supported", npyFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", data)},
		{"3-D", "3 dimensions", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", data)},
		{"0-D", "0 dimensions", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data[:4])},
		{"not a tuple", "tuple", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", data)},
		{"no rows", "no rows", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", nil)},
		{"zero dim", "invalid dimension 0", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", nil)},
		{"negative", "non-negative", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", data)},
		{"overflow", "too large", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 1024), }", data)},
		{"int out of range", "out of range", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3), }", data)},
		{"missing key", "missing key 'shape'", npyFile(1, "{'descr': '<f4', 'fortran_order': False}", data)},
		{"extra key", "unexpected key", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", data)},
		{"duplicate key", "duplicate", npyFile(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data)},
		{"unterminated", "newline in string", npyFile(1, "{'descr': '<f4", data)},
		{"text after dict", "after the dictionary", npyFile(1, good+" x", data)},
		{"descr in comment", "expected", npyFile(1, "{'descr': '<f4', # 'shape': (2, 3)\n 'fortran_order': False, 'shape': (2, 3)}", data)},
		{"bool as string", "True or False", npyFile(1, "{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3)}", data)},
		{"ids as vectors", "id type", npyFile(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data)},
		{"deep nesting", "nesting", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': "+strings.Repeat("(", 100)+"}", data)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseNpyVectors(bytes.NewReader(c.file))
			wantErr(t, err, c.want)
			_, err = ParseNpyVectors(plainReader{bytes.NewReader(c.file)})
			wantErr(t, err, c.want)
		})
	}
	_, err := ParseNpyIDs(bytes.NewReader(npyFile(1, good, data)))
	wantErr(t, err, "not an id type")

	// A huge claimed header length must not be trusted.
	b := []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f{")
	_, err = ParseNpyVectors(bytes.NewReader(b))
	wantErr(t, err, "header length")
	b = []byte("\x93NUMPY\x02\x00\x00\x00\x01\x00{")
	_, err = ParseNpyVectors(bytes.NewReader(b))
	wantErr(t, err, "truncated")
}

func TestVecsReadFiles(t *testing.T) {
	dir := t.TempDir()
	m := testMatrix(7, 9)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, name := range []string{"a.fvecs", "B.FVECS"} {
		got, err := ReadVectors(write(name, fvecsBytes(t, m)))
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, got, m)
	}
	got, err := ReadVectors(write("a.Npy", npyBytes(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, got, m)
	got, err = ReadVectors(write("a.bvecs", vecsRow(nil, 2, []byte{3, 4})))
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, got, &Matrix{Rows: 1, Dim: 2, Data: []float32{3, 4}})

	// The file size check catches a short .npy before reading the data.
	_, err = ReadVectors(write("short.npy", npyBytes(t, m)[:200]))
	wantErr(t, err, "data bytes")
	_, err = ReadVectors(write("long.npy", append(npyBytes(t, m), 1, 2)))
	wantErr(t, err, "data bytes")
	_, err = ReadVectors(write("short.fvecs", fvecsBytes(t, m)[:100]))
	wantErr(t, err, "truncated")
	_, err = ReadVectors(write("empty.fvecs", nil))
	wantErr(t, err, "empty")

	_, err = ReadVectors(write("a.txt", nil))
	wantErr(t, err, ".fvecs, .bvecs, .npy")
	_, err = ReadVectors(filepath.Join(dir, "missing.fvecs"))
	wantErr(t, err, "missing.fvecs")

	ids := &IDMatrix{Rows: 2, Cols: 3, Data: []int64{1, 2, 3, 4, 5, 6}}
	var buf bytes.Buffer
	if err := WriteIvecs(&buf, ids); err != nil {
		t.Fatal(err)
	}
	gotIDs, err := ReadIDs(write("gt.IVECS", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, gotIDs, ids)
	var i4 []byte
	for _, v := range ids.Data {
		i4 = binary.LittleEndian.AppendUint32(i4, uint32(v))
	}
	gotIDs, err = ReadIDs(write("gt.npy", npyFile(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", i4)))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, gotIDs, ids)
	_, err = ReadIDs(write("gt.fvecs", nil))
	wantErr(t, err, ".ivecs, .npy")
}

func TestVecsWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	wantErr(t, WriteFvecs(&buf, nil), "nil")
	wantErr(t, WriteFvecs(&buf, &Matrix{Rows: 2, Dim: 3, Data: make([]float32, 5)}), "holds 5")
	wantErr(t, WriteNpy(&buf, &Matrix{Rows: 0, Dim: 3}), "rows")
	wantErr(t, WriteNpy(&buf, &Matrix{Rows: 1, Dim: 0}), "dimension")
	wantErr(t, WriteIvecs(&buf, nil), "nil")
	if buf.Len() != 0 {
		t.Errorf("failed writes wrote %d bytes", buf.Len())
	}
}

func BenchmarkParseFvecs(b *testing.B) {
	data := fvecsBytes(b, testMatrix(100000, 128))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseFvecs(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// checkParsed is the fuzz invariant: a successful parse is self-consistent.
func checkParsed(t *testing.T, rows, dim, n int) {
	if rows <= 0 || dim <= 0 || rows*dim != n {
		t.Fatalf("parsed %d x %d with %d values", rows, dim, n)
	}
}

func FuzzParseFvecs(f *testing.F) {
	f.Add(fvecsBytes(f, testMatrix(3, 4)))
	f.Add(fvecsBytes(f, testMatrix(1, 1)))
	f.Add(vecsRow(nil, 2, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseFvecs(bytes.NewReader(b)); err == nil {
			checkParsed(t, m.Rows, m.Dim, len(m.Data))
		}
		if m, err := ParseFvecs(plainReader{bytes.NewReader(b)}); err == nil {
			checkParsed(t, m.Rows, m.Dim, len(m.Data))
		}
		if m, err := ParseBvecs(bytes.NewReader(b)); err == nil {
			checkParsed(t, m.Rows, m.Dim, len(m.Data))
		}
	})
}

func FuzzParseIvecs(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteIvecs(&buf, &IDMatrix{Rows: 2, Cols: 3, Data: []int64{1, 2, 3, 4, 5, -6}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(vecsRow(nil, 1, []byte{1, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseIvecs(bytes.NewReader(b)); err == nil {
			checkParsed(t, m.Rows, m.Cols, len(m.Data))
		}
		if m, err := ParseIvecs(plainReader{bytes.NewReader(b)}); err == nil {
			checkParsed(t, m.Rows, m.Cols, len(m.Data))
		}
	})
}

func FuzzParseNpy(f *testing.F) {
	f.Add(npyBytes(f, testMatrix(3, 4)))
	f.Add(npyFile(2, `{"shape":(1,3),"fortran_order":False,"descr":"|u1"}`, []byte{1, 2, 200}))
	f.Add(npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", make([]byte, 8)))
	f.Add(npyFile(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (2L,), }", make([]byte, 16)))
	f.Add(npyFile(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m1, err1 := ParseNpyVectors(bytes.NewReader(b))
		if err1 == nil {
			checkParsed(t, m1.Rows, m1.Dim, len(m1.Data))
		}
		// Streaming and presized parsing must agree.
		m2, err2 := ParseNpyVectors(plainReader{bytes.NewReader(b)})
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("presized parse error %v, streaming parse error %v", err1, err2)
		}
		if err2 == nil {
			checkParsed(t, m2.Rows, m2.Dim, len(m2.Data))
		}
		if m, err := ParseNpyIDs(bytes.NewReader(b)); err == nil {
			checkParsed(t, m.Rows, m.Cols, len(m.Data))
		}
	})
}
