package engine

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"rosetta/encoders"
	"rosetta/index"
	"rosetta/internal/textfmt"
	"rosetta/kernels"
	"rosetta/store"
	"rosetta/textindex"
)

// This file is the one home of the rules a request must satisfy. httpapi,
// ingest and the CLI call the engine and report its errors; they repeat
// none of these checks.

// Limits on one request. They are part of the API (httpapi documents them).
const (
	// MaxBatch is the most objects one upsert may carry.
	MaxBatch = 1000
	// MaxK bounds k in a search; DefaultK is used when k is 0.
	MaxK     = 10000
	DefaultK = 10
	// MaxEf bounds ef in a search.
	MaxEf = index.MaxK
	// MaxList bounds one ListObjects page.
	MaxList = 1000
	// MaxRerank bounds Rerank.Top: every candidate costs a cross-attention pass.
	MaxRerank = 200
	// MaxExclude bounds SearchRequest.Exclude.
	MaxExclude = 1000
	// MaxGroupSegments is how many segments a grouped hit carries.
	MaxGroupSegments = 3
	// MaxNameLen is the longest collection or space name; NamePattern
	// is the rule for both.
	MaxNameLen  = 64
	NamePattern = `^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`
	// MaxDim is the largest vector dimension of a space.
	MaxDim = 65536
	// MaxKeyLen bounds an external key, and MaxSourceLen a source.
	MaxKeyLen    = 1024
	MaxSourceLen = 4096
	// MaxMetadataDepth bounds how deeply metadata values nest (objects
	// and arrays): deeper documents break common JSON clients.
	MaxMetadataDepth = 32
	// MaxTextFields bounds Object.Text, and MaxTextBytes each text
	// (content text included).
	MaxTextFields = 64
	MaxTextBytes  = 1 << 20
)

// Modalities an object may have (or none).
var Modalities = []string{"image", "text", "audio", "video"}

func validModality(m string) bool {
	for _, x := range Modalities {
		if m == x {
			return true
		}
	}
	return false
}

// CheckConsistency returns ErrInvalid unless c is a search consistency.
func CheckConsistency(c string) error {
	switch c {
	case "", ConsistencyEventual, ConsistencyReadYourWrites:
		return nil
	}
	return fmt.Errorf("%w: consistency %s: want %q or %q", ErrInvalid, quote(c), ConsistencyEventual, ConsistencyReadYourWrites)
}

// ValidName reports whether s matches NamePattern.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckCollectionName returns ErrInvalid unless name is a valid
// collection name.
func CheckCollectionName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: invalid collection name %s: must match %s", ErrInvalid, quote(name), NamePattern)
	}
	return nil
}

// ValidateCollection checks a schema, fills its defaults (cosine metric)
// and reports every problem at once. The index parameters are checked by
// building the index configuration each space will use.
func ValidateCollection(c *Collection) error {
	var errs []error
	if !ValidName(c.Name) {
		errs = append(errs, fmt.Errorf("collection name %s must match %s", quote(c.Name), NamePattern))
	}
	if len(c.Spaces) == 0 {
		errs = append(errs, errors.New("a collection needs at least one vector space"))
	}
	seen := map[string]bool{}
	for i := range c.Spaces {
		s := &c.Spaces[i]
		if !ValidName(s.Name) {
			errs = append(errs, fmt.Errorf("space name %s must match %s", quote(s.Name), NamePattern))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("space %q appears twice", s.Name))
		}
		seen[s.Name] = true
		if s.Dim < 1 || s.Dim > MaxDim {
			errs = append(errs, fmt.Errorf("space %q: dim %d not in 1..%d", s.Name, s.Dim, MaxDim))
		}
		if s.Metric == "" {
			s.Metric = "cosine"
		}
		if m, err := kernels.ParseMetric(s.Metric); err != nil {
			errs = append(errs, fmt.Errorf("space %q: %v", s.Name, err))
		} else {
			s.Metric = m.String()
		}
		if err := encoders.CheckPrecision(s.Precision); err != nil {
			errs = append(errs, fmt.Errorf("space %q: precision %q is not float32 or int8", s.Name, s.Precision))
		} else if s.Precision != "" && s.Model == "" {
			errs = append(errs, fmt.Errorf("space %q: precision applies to a model, and the space has none", s.Name))
		}
	}
	if _, err := indexConfig(Space{Dim: 1, Metric: "cosine"}, c.Index); err != nil {
		errs = append(errs, fmt.Errorf("index: %s", Message(err)))
	}
	errs = append(errs, validateTextSchema(&c.Text)...)
	if len(errs) == 0 {
		for _, s := range c.Spaces {
			if _, err := newIndex(s, c.Index); err != nil {
				errs = append(errs, fmt.Errorf("space %q: %v", s.Name, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// validateBatch checks an upsert batch: its size, that no external key
// appears twice (both would land in one object, and which one wins would
// be an accident of order), and every object.
func validateBatch(c *coll, objs []Object) error {
	if len(objs) == 0 {
		return fmt.Errorf("%w: the batch is empty; send 1 to %d objects", ErrInvalid, MaxBatch)
	}
	if len(objs) > MaxBatch {
		return fmt.Errorf("%w: %d objects in one batch; the limit is %d, split it", ErrTooLarge, len(objs), MaxBatch)
	}
	keys := make(map[string]int, len(objs))
	for i := range objs {
		if k := objs[i].Key; k != "" {
			if j, dup := keys[k]; dup {
				return fmt.Errorf("%w: objects[%d].key: duplicate key %s in the batch (also objects[%d])", ErrInvalid, i, quote(k), j)
			}
			keys[k] = i
		}
		if err := validateObject(c, &objs[i]); err != nil {
			return fmt.Errorf("objects[%d]: %w", i, err)
		}
	}
	return nil
}

// validateObject checks one object of an upsert batch against the
// collection: its fields' sizes, its modality, its metadata, its content,
// and each vector against the index of its space (Check is exactly what
// the index's Add accepts, so nothing is acknowledged that an index would
// refuse).
func validateObject(c *coll, o *Object) error {
	if len(o.Key) > MaxKeyLen {
		return fmt.Errorf("%w: key is %d bytes; the limit is %d", ErrInvalid, len(o.Key), MaxKeyLen)
	}
	if len(o.Source) > MaxSourceLen {
		return fmt.Errorf("%w: source is %d bytes; the limit is %d", ErrInvalid, len(o.Source), MaxSourceLen)
	}
	if o.Modality != "" && !validModality(o.Modality) {
		return fmt.Errorf("%w: modality %s: want image, text, audio or video", ErrInvalid, quote(o.Modality))
	}
	if err := checkMetadata(o.Metadata); err != nil {
		return err
	}
	if len(o.Text) > MaxTextFields {
		return fmt.Errorf("%w: %d text fields; the limit is %d", ErrInvalid, len(o.Text), MaxTextFields)
	}
	for k, v := range o.Text {
		if len(v) > MaxTextBytes || !utf8.ValidString(v) {
			return fmt.Errorf("%w: text %s must be valid UTF-8 of at most %d bytes", ErrInvalid, quote(k), MaxTextBytes)
		}
	}
	if ct := o.Content; ct != nil {
		n := 0
		if ct.Text != "" {
			n++
			if len(ct.Text) > MaxTextBytes || !utf8.ValidString(ct.Text) {
				return fmt.Errorf("%w: content.text must be valid UTF-8 of at most %d bytes", ErrInvalid, MaxTextBytes)
			}
		}
		if ct.Image != nil || ct.Decoded != nil {
			n++
			if ct.Image != nil && len(ct.Image) == 0 {
				return fmt.Errorf("%w: content.image is empty", ErrInvalid)
			}
		}
		if ct.Audio != nil {
			n++
			if len(ct.Audio) == 0 {
				return fmt.Errorf("%w: content.audio is empty", ErrInvalid)
			}
		}
		if n > 1 {
			return fmt.Errorf("%w: content carries %d kinds; give one of text, image, audio", ErrInvalid, n)
		}
	}
	for name, v := range o.Vectors {
		if err := c.checkVector(name, v); err != nil {
			return err
		}
	}
	return nil
}

// checkVector validates a vector for the named space with that space's
// index.
func (c *coll) checkVector(space string, v []float32) error {
	si := c.spaceIndex(space)
	if si < 0 {
		return fmt.Errorf("%w: unknown vector space %s", ErrInvalid, quote(space))
	}
	if len(v) == 0 {
		return fmt.Errorf("%w: space %q: the vector is empty", ErrInvalid, space)
	}
	idxs := c.indexes()
	if idxs == nil {
		return fmt.Errorf("%w: collection %q", ErrNotReady, c.name)
	}
	if err := idxs[si].Check(v); err != nil {
		return fmt.Errorf("%w: space %q: %v", ErrInvalid, space, indexErrText(err))
	}
	return nil
}

// indexErrText words an index rejection for a client.
func indexErrText(err error) string {
	switch {
	case errors.Is(err, index.ErrZeroVector):
		return "the vector's norm is zero or too small to normalise in float32 (cosine needs a direction)"
	case errors.Is(err, index.ErrDimension):
		return err.Error()
	}
	return err.Error()
}

// checkMetadata bounds how deeply metadata nests and that every value is
// a JSON value (string, float64, bool, nil, []any, map[string]any) with
// finite numbers.
func checkMetadata(md map[string]any) error {
	for k, v := range md {
		if err := checkValue(v, 1); err != nil {
			return fmt.Errorf("%w: metadata %s: %v", ErrInvalid, quote(k), err)
		}
	}
	return nil
}

func checkValue(v any, depth int) error {
	switch x := v.(type) {
	case nil, string, bool:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v is not a JSON number", x)
		}
		return nil
	case []any:
		return checkChildren(len(x), slices.Values(x), depth)
	case map[string]any:
		return checkChildren(len(x), maps.Values(x), depth)
	}
	return fmt.Errorf("%T is not a JSON value", v)
}

// checkChildren checks the elements of an array or object one level
// deeper.
func checkChildren(n int, elems iter.Seq[any], depth int) error {
	if n > 0 && depth >= MaxMetadataDepth {
		return fmt.Errorf("nested more than %d levels deep", MaxMetadataDepth)
	}
	for e := range elems {
		if err := checkValue(e, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// normalizeSearch checks a search request and fills its defaults. It
// returns the index of the space searched and the parsed filter (nil when
// there is none).
func normalizeSearch(c *coll, req *SearchRequest) (int, *store.Filter, error) {
	if err := CheckConsistency(req.Consistency); err != nil {
		return 0, nil, err
	}
	q := &req.Query
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"vector", q.Vector != nil}, {"object", q.Object != nil}, {"text", q.Text != ""}, {"image", q.Image != nil}, {"audio", q.Audio != nil}} {
		if f.set {
			set = append(set, f.name)
		}
	}
	switch len(set) {
	case 0:
		if req.Keyword == "" {
			return 0, nil, fmt.Errorf("%w: query: set exactly one of vector, object, text, image or audio (or keyword)", ErrInvalid)
		}
	case 1:
	default:
		return 0, nil, fmt.Errorf("%w: query: set exactly one of vector, object, text, image or audio, not %s", ErrInvalid, strings.Join(set, " and "))
	}
	si, err := c.pickSpace(req.Space)
	// A keyword search ranks no space: a collection of several needs none
	// named.
	keywordOnly := req.Mode == ModeKeyword || req.Mode == "" && len(set) == 0
	if err != nil && !(keywordOnly && req.Space == "") {
		return 0, nil, err
	}
	if q.Vector != nil {
		if err := c.checkVector(c.meta.Spaces[si].Name, q.Vector); err != nil {
			return 0, nil, fmt.Errorf("query.vector: %w", err)
		}
	}
	if q.Image != nil && len(q.Image) == 0 {
		return 0, nil, fmt.Errorf("%w: query.image is empty", ErrInvalid)
	}
	if q.Audio != nil && len(q.Audio) == 0 {
		return 0, nil, fmt.Errorf("%w: query.audio is empty", ErrInvalid)
	}
	if len(q.Text) > MaxTextBytes || !utf8.ValidString(q.Text) {
		return 0, nil, fmt.Errorf("%w: query.text must be valid UTF-8 of at most %d bytes", ErrInvalid, MaxTextBytes)
	}
	if req.K == 0 {
		req.K = DefaultK
	}
	if req.K < 1 || req.K > MaxK {
		return 0, nil, fmt.Errorf("%w: k: must be in 1..%d, got %d", ErrInvalid, MaxK, req.K)
	}
	if req.Ef != 0 && (req.Ef < req.K || req.Ef > MaxEf) {
		return 0, nil, fmt.Errorf("%w: ef: must be 0 (the collection's default) or in k..%d, got %d", ErrInvalid, MaxEf, req.Ef)
	}
	if req.Offset < 0 || req.Offset+req.K > MaxK {
		return 0, nil, fmt.Errorf("%w: offset: must be at least 0 with offset+k at most %d, got %d", ErrInvalid, MaxK, req.Offset)
	}
	if req.Ef != 0 && req.Offset > 0 && req.Offset >= req.Ef {
		return 0, nil, fmt.Errorf("%w: offset %d is past the ef window (%d): ask a larger ef to page deeper", ErrInvalid, req.Offset, req.Ef)
	}
	if len(req.Exclude) > MaxExclude {
		return 0, nil, fmt.Errorf("%w: exclude: %d ids; the limit is %d", ErrInvalid, len(req.Exclude), MaxExclude)
	}
	switch req.GroupBy {
	case "", "parent":
	default:
		return 0, nil, fmt.Errorf("%w: group_by %s: want \"parent\"", ErrInvalid, quote(req.GroupBy))
	}
	if err := checkKeywordRequest(c, si, req); err != nil {
		return 0, nil, err
	}
	if req.MinScore != nil {
		if m := c.meta.Spaces[si].Metric; m == "l2" && req.Mode == ModeVector {
			return 0, nil, fmt.Errorf("%w: min_score applies to cosine and dot spaces; space %q is l2 (its score is a distance)", ErrInvalid, c.meta.Spaces[si].Name)
		}
		if x := float64(*req.MinScore); math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, nil, fmt.Errorf("%w: min_score must be a finite number", ErrInvalid)
		}
	}
	if req.Modality != "" && !validModality(req.Modality) {
		return 0, nil, fmt.Errorf("%w: modality %s: want image, text, audio or video", ErrInvalid, quote(req.Modality))
	}
	if r := req.Rerank; r != nil {
		if r.Model == "" && c.meta.RerankModel != "" {
			rr := *r // the caller's stays as given
			rr.Model = c.meta.RerankModel
			req.Rerank, r = &rr, &rr
		}
		if r.Model == "" || r.Top < 1 || r.Top > MaxRerank {
			return 0, nil, fmt.Errorf("%w: rerank needs a model (the collection names no rerank_model) and top in 1..%d", ErrInvalid, MaxRerank)
		}
		if q.Text == "" && q.Image == nil {
			return 0, nil, fmt.Errorf("%w: rerank applies to text or image queries", ErrInvalid)
		}
	}
	flt, err := store.ParseFilter(req.Filter)
	if err != nil {
		return 0, nil, err
	}
	return si, flt, nil
}

func quote(s string) string { return textfmt.Quote(s) }

// Validator applies the engine's rules for one collection schema without
// an engine: the checks Upsert and Search make, for fakes and tools that
// must agree with the engine exactly. Safe for concurrent use.
type Validator struct{ c *coll }

// NewValidator returns the validator of a (validated) schema.
func NewValidator(schema Collection) (*Validator, error) {
	if err := ValidateCollection(&schema); err != nil {
		return nil, err
	}
	c := &coll{name: schema.Name, meta: schema, skipped: make([]atomic.Int64, len(schema.Spaces))}
	idxs := make([]*index.HNSW, len(schema.Spaces))
	for i, s := range schema.Spaces {
		h, err := newIndex(s, schema.Index)
		if err != nil {
			return nil, err
		}
		idxs[i] = h
	}
	c.idx.Store(&idxs)
	return &Validator{c: c}, nil
}

// Batch checks an upsert batch as Upsert does (before encoding content).
func (v *Validator) Batch(objs []Object) error { return validateBatch(v.c, objs) }

// Search checks a request as Search does and fills its defaults.
func (v *Validator) Search(req *SearchRequest) error {
	_, _, err := normalizeSearch(v.c, req)
	return err
}

// MaxKeywordFields bounds the metadata fields a keyword index names.
const MaxKeywordFields = 32

func validateTextSchema(t *TextSchema) []error {
	var errs []error
	if err := textindex.CheckLanguage(t.Language); err != nil {
		errs = append(errs, fmt.Errorf("language: %v", err))
	}
	if t.Language == "" {
		t.Language = textindex.DefaultLanguage
	}
	if len(t.Fields) > MaxKeywordFields {
		errs = append(errs, fmt.Errorf("text_fields: %d fields; the limit is %d", len(t.Fields), MaxKeywordFields))
	}
	seen := map[string]bool{}
	for _, f := range t.Fields {
		if f == "" || len(f) > MaxNameLen || !utf8.ValidString(f) || strings.ContainsAny(f, "\x00\n\r\t") {
			errs = append(errs, fmt.Errorf("text_fields: %s is not a metadata field name", quote(f)))
		} else if seen[f] {
			errs = append(errs, fmt.Errorf("text_fields: %s twice", quote(f)))
		}
		seen[f] = true
	}
	return errs
}

// MaxBoosts bounds a search's field boosts, and MaxBoost each.
const (
	MaxBoosts = 64
	MaxBoost  = 1000
)

// checkKeywordRequest validates the keyword side of a search and resolves
// its mode (see SearchRequest.Mode).
func checkKeywordRequest(c *coll, si int, req *SearchRequest) error {
	q := &req.Query
	if len(req.Keyword) > MaxTextBytes || !utf8.ValidString(req.Keyword) {
		return fmt.Errorf("%w: keyword must be valid UTF-8 of at most %d bytes", ErrInvalid, MaxTextBytes)
	}
	kw := req.Keyword
	if kw == "" {
		kw = q.Text
	}
	vectorSide := q.Vector != nil || q.Object != nil || q.Text != "" || q.Image != nil || q.Audio != nil
	text := c.keyword()
	switch req.Mode {
	case "":
		switch {
		case text == nil || kw == "" || text.Len() == 0:
			req.Mode = ModeVector
		case !vectorSide || (q.Text != "" && c.meta.Spaces[si].Model == "" && req.Keyword == ""):
			req.Mode = ModeKeyword
		default:
			req.Mode = ModeHybrid
		}
	case ModeVector, ModeKeyword, ModeHybrid:
	default:
		return fmt.Errorf("%w: mode %s: want vector, keyword or hybrid", ErrInvalid, quote(req.Mode))
	}
	if req.Mode != ModeKeyword && !vectorSide {
		return fmt.Errorf("%w: mode %s needs a query vector, object, text, image or audio", ErrInvalid, req.Mode)
	}
	if req.Mode != ModeVector {
		if text == nil {
			return fmt.Errorf("%w: collection %q has no keyword index (its schema disables it)", ErrUnsupported, c.name)
		}
		if kw == "" {
			return fmt.Errorf("%w: mode %s needs keyword text (keyword, or query.text)", ErrInvalid, req.Mode)
		}
		if _, err := textindex.Parse(kw); err != nil {
			return fmt.Errorf("%w: keyword query: %v", ErrInvalid, err)
		}
	}
	if req.Fusion != nil {
		fc := *req.Fusion // filled in below: the caller's stays as given
		f := &fc
		req.Fusion = f
		switch f.Method {
		case "", FusionRRF:
			f.Method = FusionRRF
			if f.K == 0 {
				f.K = DefaultRRFK
			}
			if f.K < 1 || f.K > MaxK {
				return fmt.Errorf("%w: fusion.k must be in 1..%d, got %d", ErrInvalid, MaxK, f.K)
			}
		case FusionRelativeScore:
			if math.IsNaN(f.Alpha) || f.Alpha < 0 || f.Alpha > 1 {
				return fmt.Errorf("%w: fusion.alpha must be in [0, 1]", ErrInvalid)
			}
		default:
			return fmt.Errorf("%w: fusion.method %s: want rrf or relative_score", ErrInvalid, quote(f.Method))
		}
		if req.Mode != ModeHybrid {
			return fmt.Errorf("%w: fusion applies to hybrid mode, not %s", ErrInvalid, req.Mode)
		}
	}
	if len(req.Boost) > MaxBoosts {
		return fmt.Errorf("%w: boost: %d fields; the limit is %d", ErrInvalid, len(req.Boost), MaxBoosts)
	}
	for f, b := range req.Boost {
		if math.IsNaN(b) || b < 0 || b > MaxBoost {
			return fmt.Errorf("%w: boost %s: must be in [0, %d]", ErrInvalid, quote(f), MaxBoost)
		}
	}
	return nil
}
