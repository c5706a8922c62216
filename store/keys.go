package store

import (
	"encoding/binary"
	"math"
)

var (
	keyFormat  = []byte("\x00format")
	keyNextCID = []byte("\x00nextcid")
)

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func prefix(tag byte, cid uint32) []byte { return appendU32([]byte{tag}, cid) }

func collKey(name string) []byte { return append([]byte{'c'}, name...) }
func stateKey(cid uint32) []byte { return prefix('s', cid) }
func objKey(cid uint32, id uint64) []byte {
	return appendU64(prefix('o', cid), id)
}
func vecKey(cid uint32, space int, id uint64) []byte {
	return appendU64(appendU16(prefix('v', cid), uint16(space)), id)
}
func vecPrefix(cid uint32, space int) []byte { return appendU16(prefix('v', cid), uint16(space)) }
func extKey(cid uint32, key string) []byte   { return append(prefix('k', cid), key...) }
func logKey(cid uint32, seq uint64) []byte   { return appendU64(prefix('l', cid), seq) }
func rootKey(cid uint32, dir string) []byte  { return append(prefix('r', cid), dir...) }

// tokensKey is "m" cid id: the object's cached tokens (Object.Tokens).
func tokensKey(cid uint32, id uint64) []byte { return appendU64(prefix('m', cid), id) }

// blobRefKey is "b" cid sha id: object id references blob sha (hex as
// given, so keys sort by blob).
func blobRefKey(cid uint32, sha string, id uint64) []byte {
	return appendU64(append(prefix('b', cid), sha...), id)
}

func appendField(b []byte, field string) []byte {
	b = appendU16(b, uint16(len(field)))
	return append(b, field...)
}

// postingPrefix is the key prefix of all ids with field == (typ, value).
func postingPrefix(cid uint32, field string, typ byte, value string) []byte {
	b := appendField(prefix('t', cid), field)
	b = append(b, typ)
	b = append(b, value...)
	return append(b, 0)
}

func numPrefix(cid uint32, field string) []byte { return appendField(prefix('n', cid), field) }

// sortableF64 maps a float64 to 8 bytes whose byte order is numeric order.
func sortableF64(f float64) uint64 {
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

func existsPrefix(cid uint32, field string) []byte { return appendField(prefix('e', cid), field) }

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
