package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// The decoders of stored values. Each checks lengths before it reads, so
// a corrupt record gives an error wrapping ErrCorrupt, never a panic.
// None of them keeps a reference to its input (Pebble's buffers are only
// valid until the iterator moves or the closer is called).

// decodeU32 decodes a 4-byte big-endian value (format version, next cid).
func decodeU32(v []byte) (uint32, error) {
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: want 4 bytes, have %d", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint32(v), nil
}

// encodeCollection / decodeCollection: u32 cid, then the schema as JSON.
func encodeCollection(c Collection) []byte {
	js, _ := json.Marshal(c) // Collection always marshals
	return append(binary.BigEndian.AppendUint32(nil, c.CID), js...)
}

func decodeCollection(v []byte) (Collection, error) {
	var c Collection
	if len(v) < 4 {
		return c, fmt.Errorf("%w: collection record of %d bytes", ErrCorrupt, len(v))
	}
	if err := json.Unmarshal(v[4:], &c); err != nil {
		return Collection{}, fmt.Errorf("%w: collection record: %v", ErrCorrupt, err)
	}
	c.CID = binary.BigEndian.Uint32(v)
	return c, nil
}

// encodeState / decodeState: next id u64, last seq u64, and — for a
// collection written by Apply (a cluster shard replica) — the applied log
// sequence u64. Records without it are 16 bytes, as before it existed.
func encodeState(nextID, lastSeq, applied uint64) []byte {
	b := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, nextID), lastSeq)
	if applied != 0 {
		b = binary.BigEndian.AppendUint64(b, applied)
	}
	return b
}

func decodeState(v []byte) (nextID, lastSeq, applied uint64, err error) {
	if len(v) != 16 && len(v) != 24 {
		return 0, 0, 0, fmt.Errorf("%w: state record of %d bytes, want 16 or 24", ErrCorrupt, len(v))
	}
	if len(v) == 24 {
		applied = binary.BigEndian.Uint64(v[16:])
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), applied, nil
}

func decodeObject(v []byte) (Object, error) {
	var o Object
	if err := json.Unmarshal(v, &o); err != nil {
		return Object{}, fmt.Errorf("%w: object record: %v", ErrCorrupt, err)
	}
	return o, nil
}

// idFromKey reads the trailing u64 id of a key with a fixed prefix length.
func idFromKey(k []byte, prefixLen int) (uint64, error) {
	if len(k) != prefixLen+8 {
		return 0, fmt.Errorf("%w: key %x has %d bytes, want %d", ErrCorrupt, k, len(k), prefixLen+8)
	}
	return binary.BigEndian.Uint64(k[prefixLen:]), nil
}

// encodeChange / decodeChange: the log key is "l" cid seq, the value op
// then id.
func encodeChange(op Op, id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{byte(op)}, id)
}

func decodeChange(k, v []byte) (Change, error) {
	seq, err := idFromKey(k, 5)
	if err != nil {
		return Change{}, err
	}
	if len(v) != 9 {
		return Change{}, fmt.Errorf("%w: change-log entry %x: value of %d bytes, want 9", ErrCorrupt, k, len(v))
	}
	op := Op(v[0])
	if op != OpUpsert && op != OpDelete {
		return Change{}, fmt.Errorf("%w: change-log entry %x: op %d", ErrCorrupt, k, op)
	}
	return Change{Seq: seq, Op: op, ID: binary.BigEndian.Uint64(v[1:])}, nil
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: vector of %d bytes", ErrCorrupt, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
