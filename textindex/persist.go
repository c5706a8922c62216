package textindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// ErrCorrupt wraps every error reading a damaged or foreign snapshot.
var ErrCorrupt = errors.New("textindex: corrupt snapshot")

const magic = "RSTTXT02" // 02: byte offsets with the positions

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotChunk is how many terms WriteTo encodes per read-lock hold.
const snapshotChunk = 2048

// WriteTo writes the index: magic, language, then the terms in chunks
// (field, text, postings of live slots with delta-coded slots and
// positions), then the slot table (ids, live flags, field lengths) and
// the field names, all varint-coded, then a CRC-32C of everything before
// it.
//
// It holds the read lock only while it encodes one chunk of terms, and
// once at the end for the slot table, so writes and searches go on. A
// document written while it runs may be in the file in part (some of its
// terms); a caller that records the change sequence it had applied before
// calling WriteTo, and replays later changes after ReadFrom, replaces
// every such document whole.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w, crc: crc32.New(castagnoli)}
	var b []byte
	b = append(b, magic...)
	b = appendString(b, ix.an.lang)
	ix.mu.RLock()
	nterms := len(ix.terms)
	ix.mu.RUnlock()
	b = binary.AppendUvarint(b, uint64(nterms))
	if err := cw.write(b); err != nil {
		return cw.n, err
	}
	for lo := 0; lo < nterms; lo += snapshotChunk {
		b = b[:0]
		ix.mu.RLock()
		for t := lo; t < min(lo+snapshotChunk, nterms); t++ {
			b = ix.appendTerm(b, &ix.terms[t])
		}
		ix.mu.RUnlock()
		if err := cw.write(b); err != nil {
			return cw.n, err
		}
	}
	b = b[:0]
	ix.mu.RLock()
	b = binary.AppendUvarint(b, uint64(len(ix.fields)))
	for _, f := range ix.fields {
		b = appendString(b, f)
	}
	n := len(ix.slotID)
	b = binary.AppendUvarint(b, uint64(n))
	for s := 0; s < n; s++ {
		b = binary.AppendUvarint(b, ix.slotID[s])
		if ix.live[s] {
			b = append(b, 1)
			for f := range ix.fields {
				b = binary.AppendUvarint(b, uint64(ix.lens[f][s]))
			}
		} else {
			b = append(b, 0)
		}
	}
	ix.mu.RUnlock()
	if err := cw.write(b); err != nil {
		return cw.n, err
	}
	sum := cw.crc.Sum32()
	err := cw.write(binary.LittleEndian.AppendUint32(nil, sum))
	return cw.n, err
}

func (ix *Index) appendTerm(b []byte, td *termData) []byte {
	b = binary.AppendUvarint(b, uint64(td.field))
	b = appendString(b, td.text)
	n := 0
	for _, s := range td.slots {
		if ix.live[s] {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	prev := uint32(0)
	for j, s := range td.slots {
		if !ix.live[s] {
			continue
		}
		b = binary.AppendUvarint(b, uint64(s-prev))
		prev = s
		tf := td.tfs[j]
		b = binary.AppendUvarint(b, uint64(tf))
		pp, ps := uint32(0), uint32(0)
		at := td.posAt[j]
		for k := at; k < at+tf; k++ {
			p, st := td.pos[k], td.starts[k]
			b = binary.AppendUvarint(b, uint64(p-pp))
			b = binary.AppendUvarint(b, uint64(st-ps))
			b = append(b, td.lens[k])
			pp, ps = p, st
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type countWriter struct {
	w   io.Writer
	n   int64
	crc interface {
		io.Writer
		Sum32() uint32
	}
}

func (c *countWriter) write(b []byte) error {
	c.crc.Write(b)
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

// Read reads an index written by WriteTo, with the given language (which
// must be the one it was written with). Dead slots are dropped and the
// live ones renumbered. A damaged, truncated or foreign file returns an
// error wrapping ErrCorrupt; it never panics.
func Read(r io.Reader, cfg Config) (*Index, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) < len(magic)+4 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a text index snapshot", ErrCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	ix, err := New(cfg)
	if err != nil {
		return nil, err
	}
	d := &decoder{b: body[len(magic):]}
	if lang := d.str(); d.err == nil && lang != ix.an.lang {
		return nil, fmt.Errorf("%w: written with language %q, not %q", ErrCorrupt, lang, ix.an.lang)
	}
	type rawTerm struct {
		field       uint64
		text        string
		slots, tfs  []uint32
		pos, starts []uint32
		lens        []uint8
	}
	nterms := d.count(3)
	terms := make([]rawTerm, 0, nterms)
	for t := 0; t < nterms && d.err == nil; t++ {
		rt := rawTerm{field: d.uvarint(), text: d.str()}
		np := d.count(2)
		prev := uint64(0)
		for j := 0; j < np && d.err == nil; j++ {
			s := prev + d.uvarint()
			if j > 0 && s == prev {
				d.fail("postings out of order")
			}
			prev = s
			tf := d.count(1)
			if tf == 0 {
				d.fail("a posting with no positions")
			}
			if s > math.MaxUint32 {
				d.fail("slot out of range")
			}
			rt.slots = append(rt.slots, uint32(s))
			rt.tfs = append(rt.tfs, uint32(tf))
			pp, ps := uint64(0), uint64(0)
			for k := 0; k < tf && d.err == nil; k++ {
				p := pp + d.uvarint()
				if (k > 0 && p == pp) || p > math.MaxUint32 {
					d.fail("positions out of order")
				}
				st := ps + d.uvarint()
				if st > math.MaxUint32 {
					d.fail("offset out of range")
				}
				pp, ps = p, st
				rt.pos = append(rt.pos, uint32(p))
				rt.starts = append(rt.starts, uint32(st))
				rt.lens = append(rt.lens, d.byte())
			}
		}
		terms = append(terms, rt)
	}
	nfields := d.count(1)
	if nfields > math.MaxUint16 {
		d.fail("too many fields")
	}
	fields := make([]string, 0, nfields)
	for f := 0; f < nfields && d.err == nil; f++ {
		fields = append(fields, d.str())
	}
	nslots := d.count(2)
	newSlot := make([]int64, nslots) // old slot → new, or -1
	type slotRec struct {
		id   uint64
		lens []uint32
	}
	var recs []slotRec
	for s := 0; s < nslots && d.err == nil; s++ {
		id := d.uvarint()
		live := d.byte()
		newSlot[s] = -1
		if live != 1 {
			if live != 0 {
				d.fail("bad live flag")
			}
			continue
		}
		lens := make([]uint32, nfields)
		for f := range lens {
			l := d.uvarint()
			if l > math.MaxUint32 {
				d.fail("field length out of range")
			}
			lens[f] = uint32(l)
		}
		newSlot[s] = int64(len(recs))
		recs = append(recs, slotRec{id, lens})
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	// Build: fields, slots, then postings of live slots.
	for _, f := range fields {
		if _, dup := ix.fieldNum[f]; dup {
			return nil, fmt.Errorf("%w: field %q twice", ErrCorrupt, f)
		}
		ix.fieldLocked(f)
	}
	for _, rec := range recs {
		if _, dup := ix.slotOf[rec.id]; dup {
			return nil, fmt.Errorf("%w: document %d twice", ErrCorrupt, rec.id)
		}
		slot := uint32(len(ix.slotID))
		ix.slotID = append(ix.slotID, rec.id)
		ix.live = append(ix.live, true)
		ix.docTerms = append(ix.docTerms, nil)
		ix.slotOf[rec.id] = slot
		ix.nlive++
		for f := range fields {
			ix.lens[f] = append(ix.lens[f], rec.lens[f])
			if rec.lens[f] > 0 {
				ix.fieldDocs[f]++
				ix.fieldTokens[f] += int64(rec.lens[f])
			}
		}
	}
	for _, rt := range terms {
		if rt.field >= uint64(len(fields)) {
			return nil, fmt.Errorf("%w: term of field %d of %d", ErrCorrupt, rt.field, len(fields))
		}
		f := uint16(rt.field)
		var td *termData
		at := 0
		for j, s := range rt.slots {
			tf := int(rt.tfs[j])
			ps, ss, ls := rt.pos[at:at+tf], rt.starts[at:at+tf], rt.lens[at:at+tf]
			at += tf
			if int(s) >= nslots {
				return nil, fmt.Errorf("%w: posting to slot %d of %d", ErrCorrupt, s, nslots)
			}
			ns := newSlot[s]
			if ns < 0 {
				continue // the document was deleted while the snapshot ran
			}
			if ix.lens[f][ns] == 0 {
				return nil, fmt.Errorf("%w: a posting in field %q of a document without it", ErrCorrupt, fields[f])
			}
			if td == nil {
				if _, dup := ix.dict[dictKey(f, rt.text)]; dup {
					return nil, fmt.Errorf("%w: term %q twice", ErrCorrupt, rt.text)
				}
				td = &ix.terms[ix.termLocked(f, rt.text)]
			}
			td.slots = append(td.slots, uint32(ns))
			td.tfs = append(td.tfs, uint32(tf))
			td.posAt = append(td.posAt, uint32(len(td.pos)))
			td.pos = append(td.pos, ps...)
			td.starts = append(td.starts, ss...)
			td.lens = append(td.lens, ls...)
			td.df++
			ix.postings++
			ix.docTerms[ns] = append(ix.docTerms[ns], uint32(len(ix.terms)-1))
		}
	}
	return ix, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, why)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads a count of items of at least min bytes each, bounded by
// what is left.
func (d *decoder) count(minBytes int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)/minBytes) {
		d.fail("count past the end")
		return 0
	}
	return int(v)
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
