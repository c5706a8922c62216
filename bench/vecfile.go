package bench

// Readers and writers for the usual ANN benchmark vector formats:
//
//   - .fvecs: per row an int32 little-endian dimension d, then d float32 LE.
//   - .bvecs: per row an int32 dimension d, then d uint8 (read as float32).
//   - .ivecs: per row an int32 dimension d, then d int32 (neighbour ids).
//   - .npy:   NumPy format 1.0, 2.0 or 3.0 holding a C-order array with
//     dtype '<f4', '<f8' or '|u1' (vectors) or '<i4', '<i8' (ids).
//
// A 2-D .npy array of shape (n, d) is n rows of d values. A 1-D array of
// shape (n,) is read as n rows of one value each, shape (n, 1). Arrays with
// no rows, fortran_order True, big-endian or other dtypes, and 0-D or
// 3-D+ shapes are rejected.
//
// The parsers are written for untrusted input: they never size an
// allocation from a count in a header before the bytes behind it have been
// read (except when the real file size is known, see ReadVectors), cap
// dimensions at 1<<20, and reject empty input, truncated rows, rows whose
// dimension differs from the first row and bytes after the last row. NaN
// and infinite values are passed through unchanged.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Matrix is a row-major 2-D array of float32.
type Matrix struct {
	Rows, Dim int
	Data      []float32
}

// IDMatrix is a row-major 2-D array of neighbour ids (ground truth).
type IDMatrix struct {
	Rows, Cols int
	Data       []int64
}

const (
	// maxVecDim is the largest dimension (values per row) accepted.
	maxVecDim = 1 << 20
	// readChunk is how many bytes of row data are read and decoded at a
	// time; a multiple of every element size.
	readChunk = 64 << 10
	// readBuffer is the bufio buffer size used around plain readers.
	readBuffer = 256 << 10
	// maxNpyHeader bounds the .npy header dictionary length.
	maxNpyHeader = 1 << 20
)

// ReadVectors reads a float32 matrix from path, choosing the format by the
// file extension (case-insensitive): .fvecs, .bvecs or .npy.
func ReadVectors(path string) (*Matrix, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".fvecs", ".bvecs", ".npy":
	default:
		return nil, fmt.Errorf("bench: %s: unsupported vector file extension %q (supported: .fvecs, .bvecs, .npy)", path, ext)
	}
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var m *Matrix
	switch ext {
	case ".fvecs":
		m, err = parseVecsMatrix(f, "fvecs", 4, decodeF32, size)
	case ".bvecs":
		m, err = parseVecsMatrix(f, "bvecs", 1, decodeU8, size)
	default:
		m, err = parseNpyMatrix(f, size)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return m, nil
}

// ReadIDs reads a matrix of neighbour ids from path: .ivecs, or .npy with
// dtype '<i4' or '<i8' (extension matched case-insensitively).
func ReadIDs(path string) (*IDMatrix, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".ivecs", ".npy":
	default:
		return nil, fmt.Errorf("bench: %s: unsupported id file extension %q (supported: .ivecs, .npy)", path, ext)
	}
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var m *IDMatrix
	if ext == ".ivecs" {
		m, err = parseVecsIDs(f, size)
	} else {
		m, err = parseNpyIDMatrix(f, size)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return m, nil
}

// openSized opens path and returns its size when it is a regular file
// (-1 otherwise); the size is only used to presize buffers.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: %w", err)
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, nil
}

// sizeHintOf returns how many bytes r has left when r can tell cheaply
// (bytes.Reader, strings.Reader, bytes.Buffer, a regular *os.File), or -1.
// The parsers use it to presize their result, so a reader that misreports
// its length could only cause wasted capacity or a rejected .npy file.
func sizeHintOf(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Len() int }:
		return int64(r.Len())
	case *os.File:
		st, err := r.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		pos, err := r.Seek(0, io.SeekCurrent)
		if err != nil || pos > st.Size() {
			return -1
		}
		return st.Size() - pos
	}
	return -1
}

// ParseFvecs parses .fvecs data.
func ParseFvecs(r io.Reader) (*Matrix, error) {
	m, err := parseVecsMatrix(r, "fvecs", 4, decodeF32, sizeHintOf(r))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return m, nil
}

// ParseBvecs parses .bvecs data; the bytes become float32 values 0..255.
func ParseBvecs(r io.Reader) (*Matrix, error) {
	m, err := parseVecsMatrix(r, "bvecs", 1, decodeU8, sizeHintOf(r))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return m, nil
}

// ParseIvecs parses .ivecs data (int32 ids, widened to int64).
func ParseIvecs(r io.Reader) (*IDMatrix, error) {
	m, err := parseVecsIDs(r, sizeHintOf(r))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return m, nil
}

// ParseNpyVectors parses a .npy array of dtype '<f4', '<f8' (narrowed to
// float32) or '|u1'. A 1-D array of length n is read as shape (n, 1).
func ParseNpyVectors(r io.Reader) (*Matrix, error) {
	m, err := parseNpyMatrix(r, sizeHintOf(r))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return m, nil
}

// ParseNpyIDs parses a .npy array of dtype '<i4' or '<i8'. A 1-D array of
// length n is read as shape (n, 1).
func ParseNpyIDs(r io.Reader) (*IDMatrix, error) {
	m, err := parseNpyIDMatrix(r, sizeHintOf(r))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return m, nil
}

// ---------------------------------------------------------------------------
// element decoders

func decodeF32(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func decodeF64(dst []float32, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

func decodeU8(dst []float32, src []byte) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(src[i])
	}
}

func decodeI32(dst []int64, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = int64(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

func decodeI64(dst []int64, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = int64(binary.LittleEndian.Uint64(src[8*i:]))
	}
}

func buffered(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= 4096 {
		return br
	}
	return bufio.NewReaderSize(r, readBuffer)
}

// readErr describes a failed io.ReadFull of want bytes that got n.
func readErr(err error, n, want int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated: got %d of %d bytes", n, want)
	}
	return fmt.Errorf("read error: %w", err)
}

// ---------------------------------------------------------------------------
// *vecs

func parseVecsMatrix(r io.Reader, format string, elemSize int, decode func([]float32, []byte), sizeHint int64) (*Matrix, error) {
	rows, dim, data, err := readVecs(r, format, elemSize, decode, sizeHint)
	if err != nil {
		return nil, err
	}
	return &Matrix{Rows: rows, Dim: dim, Data: data}, nil
}

func parseVecsIDs(r io.Reader, sizeHint int64) (*IDMatrix, error) {
	rows, dim, data, err := readVecs(r, "ivecs", 4, decodeI32, sizeHint)
	if err != nil {
		return nil, err
	}
	return &IDMatrix{Rows: rows, Cols: dim, Data: data}, nil
}

// readVecs reads rows of "int32 dim, then dim elements". Row data is read
// and decoded readChunk bytes at a time, so memory only grows with bytes
// actually present. sizeHint, when positive, is the true input size and is
// used to presize the result.
func readVecs[T any](r io.Reader, format string, elemSize int, decode func([]T, []byte), sizeHint int64) (rows, dim int, data []T, err error) {
	br := buffered(r)
	var hdr [4]byte
	var buf []byte
	var off int64
	for {
		n, err := io.ReadFull(br, hdr[:])
		if err == io.EOF {
			if rows == 0 {
				return 0, 0, nil, fmt.Errorf("%s: empty input (no rows)", format)
			}
			return rows, dim, data, nil
		}
		if err != nil {
			return 0, 0, nil, fmt.Errorf("%s: row %d (offset %d): dimension header: %w", format, rows, off, readErr(err, int64(n), 4))
		}
		d32 := int32(binary.LittleEndian.Uint32(hdr[:]))
		if d32 <= 0 || d32 > maxVecDim {
			return 0, 0, nil, fmt.Errorf("%s: row %d (offset %d): invalid dimension %d (must be 1..%d)", format, rows, off, d32, maxVecDim)
		}
		d := int(d32)
		if rows == 0 {
			dim = d
			buf = make([]byte, min(readChunk, d*elemSize))
			if sizeHint > 0 {
				rowBytes := int64(4 + d*elemSize)
				if n := sizeHint / rowBytes; n > 0 && n <= int64(math.MaxInt/d) {
					data = make([]T, 0, int(n)*d)
				}
			}
		} else if d != dim {
			return 0, 0, nil, fmt.Errorf("%s: row %d (offset %d): dimension %d differs from first row's %d", format, rows, off, d, dim)
		}
		need := d * elemSize
		for got := 0; got < need; {
			c := min(need-got, len(buf))
			n, err := io.ReadFull(br, buf[:c])
			if err != nil {
				return 0, 0, nil, fmt.Errorf("%s: row %d (offset %d): row data: %w", format, rows, off, readErr(err, int64(got+n), int64(need)))
			}
			start := len(data)
			k := c / elemSize
			data = slices.Grow(data, k)[:start+k]
			decode(data[start:], buf[:c])
			got += c
		}
		off += int64(4 + need)
		rows++
	}
}

// WriteFvecs writes m in .fvecs format.
func WriteFvecs(w io.Writer, m *Matrix) error {
	if err := checkShape("WriteFvecs", m == nil, rowsDim(m), len(dataF32(m))); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, readChunk)
	row := make([]byte, 4+4*m.Dim)
	binary.LittleEndian.PutUint32(row, uint32(m.Dim))
	for i := 0; i < m.Rows; i++ {
		for j, v := range m.Data[i*m.Dim : (i+1)*m.Dim] {
			binary.LittleEndian.PutUint32(row[4+4*j:], math.Float32bits(v))
		}
		if _, err := bw.Write(row); err != nil {
			return fmt.Errorf("bench: WriteFvecs: row %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("bench: WriteFvecs: %w", err)
	}
	return nil
}

// WriteIvecs writes m in .ivecs format; every id must fit in an int32.
func WriteIvecs(w io.Writer, m *IDMatrix) error {
	var rows, cols, n int
	if m != nil {
		rows, cols, n = m.Rows, m.Cols, len(m.Data)
	}
	if err := checkShape("WriteIvecs", m == nil, [2]int{rows, cols}, n); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, readChunk)
	row := make([]byte, 4+4*cols)
	binary.LittleEndian.PutUint32(row, uint32(cols))
	for i := 0; i < rows; i++ {
		for j, v := range m.Data[i*cols : (i+1)*cols] {
			if v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("bench: WriteIvecs: row %d column %d: id %d does not fit in int32", i, j, v)
			}
			binary.LittleEndian.PutUint32(row[4+4*j:], uint32(int32(v)))
		}
		if _, err := bw.Write(row); err != nil {
			return fmt.Errorf("bench: WriteIvecs: row %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("bench: WriteIvecs: %w", err)
	}
	return nil
}

// WriteNpy writes m as a NumPy 1.0 file holding a C-order '<f4' array of
// shape (Rows, Dim).
func WriteNpy(w io.Writer, m *Matrix) error {
	if err := checkShape("WriteNpy", m == nil, rowsDim(m), len(dataF32(m))); err != nil {
		return err
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", m.Rows, m.Dim)
	// Pad with spaces and a final newline so the data starts 64-byte aligned.
	const pre = 10 // magic(6) + version(2) + header length(2)
	total := pre + len(dict) + 1
	total = (total + 63) / 64 * 64
	hlen := total - pre
	if hlen > math.MaxUint16 {
		return fmt.Errorf("bench: WriteNpy: header too long")
	}
	hdr := make([]byte, 0, total)
	hdr = append(hdr, "\x93NUMPY\x01\x00"...)
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(hlen))
	hdr = append(hdr, dict...)
	for len(hdr) < total-1 {
		hdr = append(hdr, ' ')
	}
	hdr = append(hdr, '\n')
	bw := bufio.NewWriterSize(w, readChunk)
	if _, err := bw.Write(hdr); err != nil {
		return fmt.Errorf("bench: WriteNpy: header: %w", err)
	}
	buf := make([]byte, 4*m.Dim)
	for i := 0; i < m.Rows; i++ {
		for j, v := range m.Data[i*m.Dim : (i+1)*m.Dim] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("bench: WriteNpy: row %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("bench: WriteNpy: %w", err)
	}
	return nil
}

func rowsDim(m *Matrix) [2]int {
	if m == nil {
		return [2]int{}
	}
	return [2]int{m.Rows, m.Dim}
}

func dataF32(m *Matrix) []float32 {
	if m == nil {
		return nil
	}
	return m.Data
}

// checkShape validates a matrix before writing: at least one row, a
// dimension in 1..maxVecDim and exactly rows*dim values.
func checkShape(fn string, isNil bool, rd [2]int, n int) error {
	rows, dim := rd[0], rd[1]
	switch {
	case isNil:
		return fmt.Errorf("bench: %s: nil matrix", fn)
	case rows <= 0:
		return fmt.Errorf("bench: %s: matrix has %d rows (need at least 1)", fn, rows)
	case dim <= 0 || dim > maxVecDim:
		return fmt.Errorf("bench: %s: invalid dimension %d (must be 1..%d)", fn, dim, maxVecDim)
	case rows > math.MaxInt/dim || rows*dim != n:
		return fmt.Errorf("bench: %s: matrix is %d x %d but holds %d values", fn, rows, dim, n)
	}
	return nil
}

// ---------------------------------------------------------------------------
// .npy

type npyDtype int

const (
	npyF4 npyDtype = iota
	npyF8
	npyU1
	npyI4
	npyI8
)

func (t npyDtype) size() int {
	switch t {
	case npyF8, npyI8:
		return 8
	case npyU1:
		return 1
	}
	return 4
}

func (t npyDtype) String() string {
	return [...]string{"<f4", "<f8", "|u1", "<i4", "<i8"}[t]
}

type npyHeader struct {
	dtype       npyDtype
	rows, cols  int
	dataBytes   int64 // rows*cols*itemsize
	headerBytes int64 // bytes before the data
}

func parseNpyMatrix(r io.Reader, sizeHint int64) (*Matrix, error) {
	br := buffered(r)
	h, err := readNpyHeader(br)
	if err != nil {
		return nil, err
	}
	var decode func([]float32, []byte)
	switch h.dtype {
	case npyF4:
		decode = decodeF32
	case npyF8:
		decode = decodeF64
	case npyU1:
		decode = decodeU8
	default:
		return nil, fmt.Errorf("npy: dtype %s is an id type; vectors need '<f4', '<f8' or '|u1'", h.dtype)
	}
	data, err := readNpyData(br, h, decode, sizeHint)
	if err != nil {
		return nil, err
	}
	return &Matrix{Rows: h.rows, Dim: h.cols, Data: data}, nil
}

func parseNpyIDMatrix(r io.Reader, sizeHint int64) (*IDMatrix, error) {
	br := buffered(r)
	h, err := readNpyHeader(br)
	if err != nil {
		return nil, err
	}
	var decode func([]int64, []byte)
	switch h.dtype {
	case npyI4:
		decode = decodeI32
	case npyI8:
		decode = decodeI64
	default:
		return nil, fmt.Errorf("npy: dtype %s is not an id type; ids need '<i4' or '<i8'", h.dtype)
	}
	data, err := readNpyData(br, h, decode, sizeHint)
	if err != nil {
		return nil, err
	}
	return &IDMatrix{Rows: h.rows, Cols: h.cols, Data: data}, nil
}

// readNpyData reads exactly h.dataBytes of array data, then checks that
// nothing follows. Memory grows with the bytes read unless sizeHint (the
// true input size) proves up front that all the data is there.
func readNpyData[T any](br *bufio.Reader, h npyHeader, decode func([]T, []byte), sizeHint int64) ([]T, error) {
	es := h.dtype.size()
	var data []T
	if sizeHint >= 0 {
		if have := sizeHint - h.headerBytes; have != h.dataBytes {
			what := "data truncated"
			if have > h.dataBytes {
				what = "trailing garbage"
			}
			return nil, fmt.Errorf("npy: %s: shape (%d, %d) of %s needs %d data bytes after the %d-byte header, input has %d", what, h.rows, h.cols, h.dtype, h.dataBytes, h.headerBytes, have)
		}
		data = make([]T, 0, h.rows*h.cols)
	}
	rowBytes := int64(h.cols) * int64(es)
	buf := make([]byte, min(int64(readChunk), h.dataBytes))
	for got := int64(0); got < h.dataBytes; {
		c := int(min(h.dataBytes-got, int64(len(buf))))
		n, err := io.ReadFull(br, buf[:c])
		if err != nil {
			at := got + int64(n)
			return nil, fmt.Errorf("npy: row %d (offset %d): data: %w", at/rowBytes, h.headerBytes+at, readErr(err, at, h.dataBytes))
		}
		start := len(data)
		k := c / es
		data = slices.Grow(data, k)[:start+k]
		decode(data[start:], buf[:c])
		got += int64(c)
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, fmt.Errorf("npy: trailing garbage after the data at offset %d", h.headerBytes+h.dataBytes)
	} else if err != io.EOF {
		return nil, fmt.Errorf("npy: offset %d: read error: %w", h.headerBytes+h.dataBytes, err)
	}
	return data, nil
}

func readNpyHeader(br *bufio.Reader) (npyHeader, error) {
	var h npyHeader
	var pre [8]byte
	n, err := io.ReadFull(br, pre[:])
	if err == io.EOF {
		return h, errors.New("npy: empty input")
	}
	if err != nil {
		return h, fmt.Errorf("npy: offset 0: preamble: %w", readErr(err, int64(n), int64(len(pre))))
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return h, errors.New("npy: offset 0: bad magic (not a .npy file)")
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	switch major {
	case 1:
		var b [2]byte
		if n, err := io.ReadFull(br, b[:]); err != nil {
			return h, fmt.Errorf("npy: offset 8: header length: %w", readErr(err, int64(n), 2))
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
		h.headerBytes = 10 + hlen
	case 2, 3:
		var b [4]byte
		if n, err := io.ReadFull(br, b[:]); err != nil {
			return h, fmt.Errorf("npy: offset 8: header length: %w", readErr(err, int64(n), 4))
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		h.headerBytes = 12 + hlen
	default:
		return h, fmt.Errorf("npy: offset 6: unsupported format version %d.%d (supported: 1.0, 2.0, 3.0)", major, minor)
	}
	if hlen > maxNpyHeader {
		return h, fmt.Errorf("npy: header length %d exceeds the %d-byte limit", hlen, maxNpyHeader)
	}
	text, err := io.ReadAll(io.LimitReader(br, hlen))
	if err != nil {
		return h, fmt.Errorf("npy: header: read error: %w", err)
	}
	if int64(len(text)) != hlen {
		return h, fmt.Errorf("npy: header: truncated: got %d of %d bytes", len(text), hlen)
	}
	if err := h.parseDict(text); err != nil {
		return h, fmt.Errorf("npy: header: %w", err)
	}
	return h, nil
}

// parseDict interprets the header dictionary and fills dtype and shape.
func (h *npyHeader) parseDict(text []byte) error {
	p := &pyParser{s: text}
	dict, err := p.parseHeader()
	if err != nil {
		return err
	}
	descr, ok := dict["descr"]
	if !ok {
		return errors.New("missing key 'descr'")
	}
	fortran, ok := dict["fortran_order"]
	if !ok {
		return errors.New("missing key 'fortran_order'")
	}
	shape, ok := dict["shape"]
	if !ok {
		return errors.New("missing key 'shape'")
	}
	for k := range dict {
		if k != "descr" && k != "fortran_order" && k != "shape" {
			return fmt.Errorf("unexpected key %q", k)
		}
	}

	if descr.kind != pyStr {
		return fmt.Errorf("'descr' is %s, want a string (structured dtypes are not supported)", descr.kind)
	}
	switch descr.s {
	case "<f4":
		h.dtype = npyF4
	case "<f8":
		h.dtype = npyF8
	case "|u1", "<u1":
		h.dtype = npyU1
	case "<i4":
		h.dtype = npyI4
	case "<i8":
		h.dtype = npyI8
	default:
		if strings.HasPrefix(descr.s, ">") {
			return fmt.Errorf("big-endian dtype %q is not supported (save with arr.astype('<%s'))", descr.s, descr.s[1:])
		}
		return fmt.Errorf("unsupported dtype %q (supported: '<f4', '<f8', '|u1', '<i4', '<i8')", descr.s)
	}

	if fortran.kind != pyBool {
		return fmt.Errorf("'fortran_order' is %s, want True or False", fortran.kind)
	}
	if fortran.b {
		return errors.New("fortran_order=True is not supported (save a C-order array, e.g. np.ascontiguousarray)")
	}

	if shape.kind != pyTuple {
		return fmt.Errorf("'shape' is %s, want a tuple", shape.kind)
	}
	dims := make([]int64, len(shape.items))
	for i, it := range shape.items {
		if it.kind != pyInt || it.i < 0 {
			return fmt.Errorf("'shape' entry %d is not a non-negative integer", i)
		}
		dims[i] = it.i
	}
	switch len(dims) {
	case 1:
		dims = append(dims, 1)
	case 2:
	default:
		return fmt.Errorf("shape has %d dimensions; need a 2-D array (or 1-D, read as one column)", len(dims))
	}
	rows, cols := dims[0], dims[1]
	if rows == 0 {
		return fmt.Errorf("array of shape (%d, %d) has no rows", rows, cols)
	}
	if cols <= 0 || cols > maxVecDim {
		return fmt.Errorf("invalid dimension %d (must be 1..%d)", cols, maxVecDim)
	}
	hi, elems := bits.Mul64(uint64(rows), uint64(cols))
	hi2, nbytes := bits.Mul64(elems, uint64(h.dtype.size()))
	if hi != 0 || hi2 != 0 || nbytes > math.MaxInt64 || elems > math.MaxInt {
		return fmt.Errorf("shape (%d, %d) is too large", rows, cols)
	}
	h.rows, h.cols = int(rows), int(cols)
	h.dataBytes = int64(nbytes)
	return nil
}

// ---------------------------------------------------------------------------
// a parser for the Python literal in a .npy header

type pyKind int

const (
	pyStr pyKind = iota
	pyInt
	pyBool
	pyNone
	pyTuple
)

func (k pyKind) String() string {
	return [...]string{"a string", "an integer", "a boolean", "None", "a tuple"}[k]
}

type pyValue struct {
	kind  pyKind
	s     string
	i     int64
	b     bool
	items []pyValue
}

type pyParser struct {
	s     []byte
	pos   int
	depth int
}

const maxPyDepth = 16

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *pyParser) peek() byte {
	p.skipSpace()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *pyParser) expect(c byte) error {
	if p.peek() != c {
		return p.errorf("expected %q", c)
	}
	p.pos++
	return nil
}

// parseHeader parses "{key: value, ...}" followed only by whitespace
// (NumPy pads the header with spaces and a newline).
func (p *pyParser) parseHeader() (map[string]pyValue, error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	dict := map[string]pyValue{}
	for {
		if p.peek() == '}' {
			p.pos++
			break
		}
		if p.peek() != '\'' && p.peek() != '"' {
			return nil, p.errorf("expected a string key or '}'")
		}
		key, err := p.parseString()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		if _, dup := dict[key]; dup {
			return nil, p.errorf("duplicate key %q", key)
		}
		dict[key] = v
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
		default:
			return nil, p.errorf("expected ',' or '}'")
		}
	}
	if p.peek() != 0 {
		return nil, p.errorf("unexpected text after the dictionary")
	}
	return dict, nil
}

func (p *pyParser) parseValue() (pyValue, error) {
	switch c := p.peek(); {
	case c == '\'' || c == '"':
		s, err := p.parseString()
		return pyValue{kind: pyStr, s: s}, err
	case c == '(':
		return p.parseTuple()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.parseInt()
	case c == '[':
		return pyValue{}, p.errorf("lists are not supported (structured dtype?)")
	case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] >= 'A' && p.s[p.pos] <= 'Z' || p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z' || p.s[p.pos] == '_') {
			p.pos++
		}
		switch word := string(p.s[start:p.pos]); word {
		case "True":
			return pyValue{kind: pyBool, b: true}, nil
		case "False":
			return pyValue{kind: pyBool}, nil
		case "None":
			return pyValue{kind: pyNone}, nil
		default:
			p.pos = start
			return pyValue{}, p.errorf("unexpected name %q", word)
		}
	case c == 0:
		return pyValue{}, p.errorf("unexpected end of header")
	default:
		return pyValue{}, p.errorf("unexpected character %q", c)
	}
}

// parseString parses a single- or double-quoted string literal. Escapes
// take the next byte literally, which is enough for dtype strings.
func (p *pyParser) parseString() (string, error) {
	q := p.peek()
	start := p.pos
	p.pos++
	var sb strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case q:
			return sb.String(), nil
		case '\\':
			if p.pos >= len(p.s) {
				p.pos = start
				return "", p.errorf("unterminated string")
			}
			sb.WriteByte(p.s[p.pos])
			p.pos++
		case '\n':
			p.pos = start
			return "", p.errorf("newline in string")
		default:
			sb.WriteByte(c)
		}
	}
	p.pos = start
	return "", p.errorf("unterminated string")
}

// parseInt parses a decimal integer with an optional sign and an optional
// Python 2 'L' suffix.
func (p *pyParser) parseInt() (pyValue, error) {
	start := p.pos
	if c := p.s[p.pos]; c == '-' || c == '+' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		p.pos = start
		return pyValue{}, p.errorf("expected digits")
	}
	i, err := strconv.ParseInt(string(p.s[start:p.pos]), 10, 64)
	if err != nil {
		p.pos = start
		return pyValue{}, p.errorf("integer %q out of range", p.s[start:p.pos])
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++
	}
	return pyValue{kind: pyInt, i: i}, nil
}

// parseTuple parses "(a, b, ...)". As in Python, "(x)" without a comma is
// just x, while "()" and "(x,)" are tuples.
func (p *pyParser) parseTuple() (pyValue, error) {
	if p.depth >= maxPyDepth {
		return pyValue{}, p.errorf("nesting too deep")
	}
	p.depth++
	defer func() { p.depth-- }()
	p.pos++ // '('
	var items []pyValue
	comma := false
	for {
		if p.peek() == ')' {
			p.pos++
			break
		}
		v, err := p.parseValue()
		if err != nil {
			return pyValue{}, err
		}
		items = append(items, v)
		switch p.peek() {
		case ',':
			p.pos++
			comma = true
		case ')':
		default:
			return pyValue{}, p.errorf("expected ',' or ')'")
		}
	}
	if len(items) == 1 && !comma {
		return items[0], nil
	}
	return pyValue{kind: pyTuple, items: items}, nil
}
