package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"rosetta/engine"
)

// HTTPSink sends objects to a running server. Image content travels as
// bytes and is encoded by the server; Scan pages through the server's
// object listing, so skipping unchanged files and --prune work as with a
// local data directory.
type HTTPSink struct {
	base, key string
	c         *http.Client
}

// NewHTTPSink talks to the server at base (e.g. http://127.0.0.1:7700).
func NewHTTPSink(base, apiKey string) *HTTPSink {
	return &HTTPSink{base: strings.TrimRight(base, "/"), key: apiKey, c: &http.Client{Timeout: 10 * time.Minute}}
}

var _ Sink = (*HTTPSink)(nil)

func (h *HTTPSink) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.key != "" {
		req.Header.Set("Authorization", "Bearer "+h.key)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(b, &e)
		var kind error
		switch resp.StatusCode {
		case 404:
			kind = engine.ErrNotFound
		case 400, 413:
			kind = engine.ErrInvalid
		case 422:
			kind = engine.ErrUnsupported
		default:
			return fmt.Errorf("server: %s %s: %s", method, path, resp.Status)
		}
		return fmt.Errorf("%w: %s", kind, e.Error.Message)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (h *HTTPSink) Collection(ctx context.Context, name string) (engine.Collection, error) {
	var c engine.Collection
	return c, h.do(ctx, "GET", "/v1/collections/"+name, nil, &c)
}

func (h *HTTPSink) CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error) {
	var out engine.Collection
	return out, h.do(ctx, "POST", "/v1/collections", c, &out)
}

func (h *HTTPSink) Upsert(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error) {
	var out struct {
		IDs []uint64 `json:"ids"`
	}
	err := h.do(ctx, "PUT", "/v1/collections/"+coll+"/objects", map[string]any{"objects": objs}, &out)
	return out.IDs, err
}

func (h *HTTPSink) Scan(ctx context.Context, coll string, fn func(engine.Object) error) error {
	after := uint64(0)
	for {
		var page struct {
			Objects []engine.Object `json:"objects"`
			Next    *uint64         `json:"next"`
		}
		if err := h.do(ctx, "GET", fmt.Sprintf("/v1/collections/%s/objects?after=%d&limit=%d", coll, after, engine.MaxList), nil, &page); err != nil {
			return err
		}
		for _, o := range page.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		after = *page.Next
	}
}

func (h *HTTPSink) Delete(ctx context.Context, coll string, ids []uint64) error {
	for _, id := range ids {
		if err := h.do(ctx, "DELETE", fmt.Sprintf("/v1/collections/%s/objects/%d", coll, id), nil, nil); err != nil {
			return err
		}
	}
	return nil
}

func (h *HTTPSink) Get(ctx context.Context, coll string, id uint64) (engine.Object, error) {
	var o engine.Object
	return o, h.do(ctx, "GET", fmt.Sprintf("/v1/collections/%s/objects/%d", coll, id), nil, &o)
}
