package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"rosetta/store"
	"rosetta/textindex"
)

// DefaultTextFields are the metadata fields a keyword index holds when the
// collection names none.
var DefaultTextFields = []string{"title", "description", "caption", "tags"}

// Keyword index field names: the object's text content, its derived texts
// ("text." + name) and its metadata fields ("metadata." + name).
const (
	ContentField = "content"
	textPrefix   = "text."
	metaPrefix   = "metadata."
)

func (c *coll) textFieldNames() []string {
	if c.meta.Text.Fields == nil {
		return DefaultTextFields
	}
	return c.meta.Text.Fields
}

// keywordFields lists the texts of a record the keyword index holds, in a
// stable order: content, derived texts by name, then the schema's
// metadata fields (a string, or the strings of an array).
func (c *coll) keywordFields(o *store.Object) []textindex.Field {
	var out []textindex.Field
	if o.Content != nil && o.Content.Text != "" {
		out = append(out, textindex.Field{Name: ContentField, Text: o.Content.Text})
	}
	if len(o.Text) > 0 {
		names := make([]string, 0, len(o.Text))
		for k := range o.Text {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			out = append(out, textindex.Field{Name: textPrefix + k, Text: o.Text[k]})
		}
	}
	for _, f := range c.textFieldNames() {
		switch v := o.Metadata[f].(type) {
		case string:
			out = append(out, textindex.Field{Name: metaPrefix + f, Text: v})
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, textindex.Field{Name: metaPrefix + f, Text: s})
				}
			}
		}
	}
	return out
}

// keyword returns the collection's keyword index, nil when it has none.
func (c *coll) keyword() *textindex.Index { return c.text.Load() }

func (c *coll) newKeywordIndex() (*textindex.Index, error) {
	if c.meta.Text.Disabled {
		return nil, nil
	}
	return textindex.New(textindex.Config{Language: c.meta.Text.Language})
}

// applyKeyword applies one committed change to the keyword index.
func (c *coll) applyKeyword(ix *textindex.Index, ch store.Change) {
	if ix == nil {
		return
	}
	if ch.Op == store.OpDelete || ch.Object == nil {
		ix.Delete(ch.ID)
		return
	}
	ix.Put(ch.ID, c.keywordFields(ch.Object))
}

func (e *Engine) textSnapPath(c *coll) string {
	return filepath.Join(e.snapDir(), fmt.Sprintf("%d-text.snap", c.smeta.CID))
}

// loadKeyword loads the keyword index from its snapshot, or builds it
// from every object in the store when the snapshot is missing, damaged or
// for another language. It returns the change sequence the index holds.
func (e *Engine) loadKeyword(c *coll, rebuild bool, last uint64) (*textindex.Index, uint64, error) {
	if c.meta.Text.Disabled {
		return nil, last, nil
	}
	err := os.ErrNotExist
	if !rebuild {
		var ix *textindex.Index
		var seq uint64
		if ix, seq, err = e.readTextSnapshot(c, last); err == nil {
			return ix, seq, nil
		}
	}
	switch {
	case rebuild:
		e.log.Info("rebuilding keyword index from the store", "collection", c.name)
	case !errors.Is(err, os.ErrNotExist):
		e.log.Warn("keyword index snapshot unusable, rebuilding from the store", "collection", c.name, "err", err)
	case last > 0:
		e.log.Info("no keyword index snapshot, rebuilding from the store", "collection", c.name)
	}
	start := time.Now()
	ix, err := e.rebuildKeyword(c)
	if err != nil {
		return nil, 0, fmt.Errorf("keyword index: %w", err)
	}
	e.log.Info("keyword index rebuilt", "collection", c.name, "documents", ix.Len(), "took", time.Since(start).Round(time.Millisecond))
	return ix, last, nil
}

// rebuildKeyword indexes every object of the store, analysing on
// BuildThreads goroutines.
func (e *Engine) rebuildKeyword(c *coll) (*textindex.Index, error) {
	ix, err := c.newKeywordIndex()
	if err != nil {
		return nil, err
	}
	err = buildFrom(e, func(emit func(store.Object) error) error {
		return e.db.ScanObjects(c.name, emit)
	}, func(o store.Object) {
		if fs := c.keywordFields(&o); len(fs) > 0 {
			ix.Put(o.ID, fs)
		}
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// replayKeyword applies the logged changes after seq, reading each
// object's current record (replaying a change twice is harmless).
func (e *Engine) replayKeyword(c *coll, ix *textindex.Index, seq uint64) (int, error) {
	if ix == nil {
		return 0, nil
	}
	n := 0
	err := e.db.ChangesSince(c.smeta, seq, func(ch store.Change) error {
		n++
		if ch.Op == store.OpDelete {
			ix.Delete(ch.ID)
			return nil
		}
		o, err := e.db.Record(c.name, ch.ID)
		if errors.Is(err, store.ErrNotFound) {
			ix.Delete(ch.ID)
			return nil
		}
		if err != nil {
			return err
		}
		ix.Put(ch.ID, c.keywordFields(&o))
		return nil
	})
	return n, err
}

func (e *Engine) readTextSnapshot(c *coll, last uint64) (*textindex.Index, uint64, error) {
	f, r, seq, err := openSnapshot(e.textSnapPath(c), last)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	ix, err := textindex.Read(r, textindex.Config{Language: c.meta.Text.Language})
	if err != nil {
		return nil, 0, err
	}
	return ix, seq, nil
}

// writeTextSnapshot writes the keyword index crash-safely with the change
// sequence it had applied before the write began.
func (e *Engine) writeTextSnapshot(c *coll, ix *textindex.Index, seq uint64) error {
	return writeSnapshot(e.textSnapPath(c), seq, func(w io.Writer) error {
		_, err := ix.WriteTo(w)
		return err
	})
}

// keywordStats returns the keyword index's figures; false without one.
func (c *coll) keywordStats() (KeywordStats, bool) {
	ix := c.keyword()
	if ix == nil {
		return KeywordStats{}, false
	}
	s := ix.Stats()
	return KeywordStats{Documents: s.Docs, Slots: s.Slots, Terms: s.Terms, Postings: s.Postings, Bytes: s.Bytes, Language: ix.Language()}, true
}

// compactKeywordSlots is how many dead slots (documents replaced or
// deleted) a keyword index may hold, beyond as many as it has live ones,
// before a snapshot reloads it compacted.
const compactKeywordSlots = 1000

// compactKeyword replaces a keyword index that holds more dead slots than
// live ones (and over compactKeywordSlots) with the snapshot just written
// (which holds live documents only, renumbered) plus a replay of what was
// committed since: the same documents and scores in less memory. Searches
// use the old index until the switch; commits wait only for the replay.
func (e *Engine) compactKeyword(c *coll, old *textindex.Index) {
	st := old.Stats()
	if dead := st.Slots - st.Docs; dead <= st.Docs || dead <= compactKeywordSlots {
		return
	}
	last, err := e.db.LastSeq(c.name)
	if err != nil {
		return
	}
	ix, seq, err := e.readTextSnapshot(c, last)
	if err != nil {
		e.log.Warn("compacting the keyword index: reading its snapshot", "collection", c.name, "err", err)
		return
	}
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if c.state.Load() != stateReady || c.keyword() != old {
		return // rebuilt or dropped meanwhile
	}
	if _, err := e.replayKeyword(c, ix, seq); err != nil {
		e.log.Warn("compacting the keyword index: replay", "collection", c.name, "err", err)
		return
	}
	c.text.Store(ix)
	e.log.Info("keyword index compacted", "collection", c.name, "documents", st.Docs, "slots before", st.Slots)
}
