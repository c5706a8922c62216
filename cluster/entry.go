package cluster

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"rosetta/engine"
)

// entry is one message of a shard stream: deletes, then upserts of
// prepared objects (ids set, vectors encoded, no media bytes: a kept
// original is named by its blob, whose bytes are in the blob bucket).
type entry struct {
	Deletes []uint64    `json:"deletes,omitempty"`
	Upserts []logObject `json:"upserts,omitempty"`
}

type logObject struct {
	ID       uint64            `json:"id"`
	Key      string            `json:"key,omitempty"`
	Modality string            `json:"modality,omitempty"`
	Source   string            `json:"source,omitempty"`
	Hash     string            `json:"hash,omitempty"`
	Blob     string            `json:"blob,omitempty"`
	Metadata map[string]any    `json:"metadata,omitempty"`
	Text     map[string]string `json:"text,omitempty"`
	Content  string            `json:"content,omitempty"` // text content
	Updated  time.Time         `json:"updated"`
	// Vectors are little-endian float32s (base64 in the JSON).
	Vectors map[string][]byte `json:"vectors,omitempty"`
}

func toLog(o *engine.Object) logObject {
	l := logObject{ID: o.ID, Key: o.Key, Modality: o.Modality, Source: o.Source, Hash: o.Hash, Blob: o.Blob,
		Metadata: o.Metadata, Text: o.Text, Updated: o.Updated}
	if o.Content != nil {
		l.Content = o.Content.Text
	}
	if len(o.Vectors) > 0 {
		l.Vectors = make(map[string][]byte, len(o.Vectors))
		for s, v := range o.Vectors {
			b := make([]byte, 4*len(v))
			for i, f := range v {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
			}
			l.Vectors[s] = b
		}
	}
	return l
}

func (l *logObject) object() (engine.Object, error) {
	o := engine.Object{ID: l.ID, Key: l.Key, Modality: l.Modality, Source: l.Source, Hash: l.Hash, Blob: l.Blob,
		Metadata: l.Metadata, Text: l.Text, Updated: l.Updated}
	if l.Content != "" {
		o.Content = &engine.Content{Text: l.Content}
	}
	if len(l.Vectors) > 0 {
		o.Vectors = make(map[string][]float32, len(l.Vectors))
		for s, b := range l.Vectors {
			if len(b)%4 != 0 {
				return engine.Object{}, fmt.Errorf("vector %q of %d bytes", s, len(b))
			}
			v := make([]float32, len(b)/4)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			o.Vectors[s] = v
		}
	}
	return o, nil
}

// size estimates an object's bytes in an entry.
func (l *logObject) size() int {
	b, _ := json.Marshal(l)
	return len(b)
}

func decodeEntry(b []byte) (deletes []uint64, objs []engine.Object, err error) {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, nil, err
	}
	objs = make([]engine.Object, len(e.Upserts))
	for i := range e.Upserts {
		if objs[i], err = e.Upserts[i].object(); err != nil {
			return nil, nil, fmt.Errorf("upserts[%d]: %w", i, err)
		}
	}
	return e.Deletes, objs, nil
}
