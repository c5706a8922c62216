package textindex

import (
	"sort"
	"sync"
)

// BM25 parameters: Lucene's defaults.
const (
	K1 = 1.2
	B  = 0.75
)

// positionGap separates the values of a multi-valued field, so that a
// phrase never matches across two of them (Lucene's position increment
// gap).
const positionGap = 100

// Config sets up an index.
type Config struct {
	// Language names the analysis (see Languages); "" is DefaultLanguage.
	Language string
}

// Field is one named text of a document. A name may repeat (a
// multi-valued field): its values are indexed as one field.
type Field struct {
	Name, Text string
}

// Index is an in-memory inverted index with BM25 scoring, safe for
// concurrent use. Put analyses outside any lock and holds the write lock
// only to insert the document's postings (microseconds); a search holds
// the read lock while it scores.
//
// Documents live in slots, numbered in insertion order, so that every
// posting list is sorted by slot. Deleting a document (or replacing it)
// marks its slot dead and takes it out of the statistics at once: the
// document count, each term's document frequency and each field's total
// length count live documents only, so scores after a delete equal those
// of an index that never held the document. Dead postings are skipped
// while scoring and dropped from a term's list once they are half of it.
type Index struct {
	an *analyzer

	mu       sync.RWMutex
	fields   []string          // field names by field number
	fieldNum map[string]uint16 // name → number
	dict     map[string]uint32 // field number (2 bytes) + term → term number
	terms    []termData        // by term number

	slotID   []uint64          // slot → document id
	live     []bool            // slot → live
	docTerms [][]uint32        // slot → its distinct term numbers (nil when dead)
	lens     [][]uint32        // field → slot → token count
	slotOf   map[uint64]uint32 // live document id → slot

	fieldDocs   []int64 // field → live documents that have it
	fieldTokens []int64 // field → tokens in it over live documents
	nlive       int
	postings    int64 // postings held, dead ones included
}

// termData is one term of one field.
type termData struct {
	field uint16
	text  string
	df    int32 // live documents holding it
	// Postings, sorted by slot: the slot, its term frequency and where
	// its positions start in pos (a posting has tf positions). starts and
	// lens hold, for each position, the token's byte offset in the field's
	// text (its values joined by ValueSep) and byte length (at most 255),
	// so that snippets need no analysis.
	slots, tfs, posAt []uint32
	pos, starts       []uint32
	lens              []uint8
}

// ValueSep joins the values of a multi-valued field for byte offsets.
const ValueSep = "\n"

// occurrences are one term's places in one field of one document.
type occurrences struct {
	pos, starts []uint32
	lens        []uint8
}

// New returns an empty index.
func New(cfg Config) (*Index, error) {
	an, err := newAnalyzer(cfg.Language)
	if err != nil {
		return nil, err
	}
	return &Index{an: an, fieldNum: map[string]uint16{}, dict: map[string]uint32{}, slotOf: map[uint64]uint32{}}, nil
}

// Language is the index's analysis.
func (ix *Index) Language() string { return ix.an.lang }

// analysedField is one field of a document after analysis.
type analysedField struct {
	name   string
	length uint32
	terms  []string                // distinct, in first-seen order
	occ    map[string]*occurrences // term → where, positions ascending
	bytes  int                     // the values' bytes so far, joined by ValueSep
	last   uint32                  // the last position so far
}

// analyse runs a document's fields through the analyzer (no lock held).
func (ix *Index) analyse(fields []Field) []analysedField {
	var out []analysedField
	at := map[string]int{}
	for _, f := range fields {
		i, ok := at[f.Name]
		if !ok {
			i = len(out)
			at[f.Name] = i
			out = append(out, analysedField{name: f.Name, occ: map[string]*occurrences{}, bytes: -len(ValueSep)})
		}
		af := &out[i]
		af.bytes += len(ValueSep) // every value counts, even an empty one
		offset := af.bytes
		af.bytes += len(f.Text)
		toks := ix.an.tokens(f.Text)
		if len(toks) == 0 {
			continue
		}
		base := uint32(0)
		if af.length > 0 { // a further value of a multi-valued field
			base = af.last + positionGap
		}
		for _, t := range toks {
			p := base + uint32(t.pos)
			o := af.occ[t.term]
			if o == nil {
				o = &occurrences{}
				af.occ[t.term] = o
				af.terms = append(af.terms, t.term)
			}
			o.pos = append(o.pos, p)
			o.starts = append(o.starts, uint32(offset+t.start))
			o.lens = append(o.lens, uint8(min(t.end-t.start, 255)))
			af.last = max(af.last, p)
		}
		af.length += uint32(len(toks))
	}
	// Fields without a term are not held.
	n := 0
	for _, af := range out {
		if af.length > 0 {
			out[n] = af
			n++
		}
	}
	return out[:n]
}

// Put indexes a document, replacing any earlier one with the id. A
// document without any term is not held (and Put deletes the old one).
func (ix *Index) Put(id uint64, fields []Field) {
	afs := ix.analyse(fields)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.deleteLocked(id)
	if len(afs) > 0 {
		ix.insertLocked(id, afs)
	}
}

// Delete removes a document; false when it was not held.
func (ix *Index) Delete(id uint64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.deleteLocked(id)
}

func (ix *Index) fieldLocked(name string) uint16 {
	if n, ok := ix.fieldNum[name]; ok {
		return n
	}
	n := uint16(len(ix.fields))
	ix.fields = append(ix.fields, name)
	ix.fieldNum[name] = n
	ix.lens = append(ix.lens, make([]uint32, len(ix.slotID)))
	ix.fieldDocs = append(ix.fieldDocs, 0)
	ix.fieldTokens = append(ix.fieldTokens, 0)
	return n
}

func dictKey(field uint16, term string) string {
	return string([]byte{byte(field >> 8), byte(field)}) + term
}

func (ix *Index) termLocked(field uint16, term string) uint32 {
	k := dictKey(field, term)
	if t, ok := ix.dict[k]; ok {
		return t
	}
	t := uint32(len(ix.terms))
	ix.terms = append(ix.terms, termData{field: field, text: term})
	ix.dict[k] = t
	return t
}

func (ix *Index) insertLocked(id uint64, afs []analysedField) {
	slot := uint32(len(ix.slotID))
	ix.slotID = append(ix.slotID, id)
	ix.live = append(ix.live, true)
	for f := range ix.lens {
		ix.lens[f] = append(ix.lens[f], 0)
	}
	var dterms []uint32
	for i := range afs {
		af := &afs[i]
		f := ix.fieldLocked(af.name)
		ix.lens[f][slot] = af.length
		ix.fieldDocs[f]++
		ix.fieldTokens[f] += int64(af.length)
		for _, term := range af.terms {
			t := ix.termLocked(f, term)
			td := &ix.terms[t]
			o := af.occ[term]
			td.slots = append(td.slots, slot)
			td.tfs = append(td.tfs, uint32(len(o.pos)))
			td.posAt = append(td.posAt, uint32(len(td.pos)))
			td.pos = append(td.pos, o.pos...)
			td.starts = append(td.starts, o.starts...)
			td.lens = append(td.lens, o.lens...)
			td.df++
			dterms = append(dterms, t)
		}
		ix.postings += int64(len(af.terms))
	}
	ix.docTerms = append(ix.docTerms, dterms)
	ix.slotOf[id] = slot
	ix.nlive++
}

func (ix *Index) deleteLocked(id uint64) bool {
	slot, ok := ix.slotOf[id]
	if !ok {
		return false
	}
	delete(ix.slotOf, id)
	ix.live[slot] = false
	for f := range ix.lens {
		if l := ix.lens[f][slot]; l > 0 {
			ix.fieldDocs[f]--
			ix.fieldTokens[f] -= int64(l)
		}
	}
	for _, t := range ix.docTerms[slot] {
		td := &ix.terms[t]
		td.df--
		if len(td.slots) >= 2*int(td.df)+16 {
			ix.compactTerm(td)
		}
	}
	ix.docTerms[slot] = nil
	ix.nlive--
	return true
}

// compactTerm drops a term's dead postings; the caller holds the write lock.
func (ix *Index) compactTerm(td *termData) {
	n := 0
	var pos, starts []uint32
	var lens []uint8
	for j, s := range td.slots {
		if !ix.live[s] {
			continue
		}
		at, tf := td.posAt[j], td.tfs[j]
		td.slots[n], td.tfs[n] = s, tf
		td.posAt[n] = uint32(len(pos))
		pos = append(pos, td.pos[at:at+tf]...)
		starts = append(starts, td.starts[at:at+tf]...)
		lens = append(lens, td.lens[at:at+tf]...)
		n++
	}
	ix.postings -= int64(len(td.slots) - n)
	td.slots, td.tfs, td.posAt = td.slots[:n:n], td.tfs[:n:n], td.posAt[:n:n]
	td.pos, td.starts, td.lens = pos, starts, lens
}

// Len is the number of documents held.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.nlive
}

// Has reports whether a document is held.
func (ix *Index) Has(id uint64) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.slotOf[id]
	return ok
}

// Stats describe an index.
type Stats struct {
	Docs     int   // documents held
	Slots    int   // document slots, dead ones (replaced or deleted) included
	Terms    int   // distinct (field, term) pairs with a live document
	Postings int64 // postings held, including dead ones not yet dropped
	Bytes    int64 // memory the index holds, estimated from its slices and maps
	Fields   []string
}

// Stats returns the index's figures.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := Stats{Docs: ix.nlive, Slots: len(ix.slotID), Postings: ix.postings, Fields: append([]string(nil), ix.fields...)}
	b := int64(len(ix.slotID))*(8+1+24) + int64(len(ix.slotOf))*16 + int64(len(ix.lens))*int64(len(ix.slotID))*4
	for i := range ix.terms {
		td := &ix.terms[i]
		if td.df > 0 {
			s.Terms++
		}
		b += int64(len(td.text)) + 2*16 + 100 // the term, its map entry and header
		b += int64(cap(td.slots)+cap(td.tfs)+cap(td.posAt)+cap(td.pos)+cap(td.starts))*4 + int64(cap(td.lens))
	}
	for _, dt := range ix.docTerms {
		b += int64(cap(dt)) * 4
	}
	s.Bytes = b
	return s
}

// FieldNames lists the fields the index has seen, sorted.
func (ix *Index) FieldNames() []string {
	ix.mu.RLock()
	out := append([]string(nil), ix.fields...)
	ix.mu.RUnlock()
	sort.Strings(out)
	return out
}
