// Package client is a Go client of Rosetta's REST API, speaking the wire
// types of package api. Errors from the server come back as *Error, which
// wraps the engine sentinel that matches its status (engine.ErrNotFound,
// engine.ErrInvalid, ...), so callers test them with errors.Is as they
// would against an engine in the same process.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rosetta/api"
	"rosetta/engine"
)

// Client talks to one server. Safe for concurrent use.
type Client struct {
	base, key string
	hc        *http.Client
}

// New returns a client of the server at base (e.g. http://127.0.0.1:7700)
// that sends key as a bearer token when it is not empty. hc nil means a
// client with a 10-minute timeout (large upserts are encoded by the server).
func New(base, key string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	return &Client{base: strings.TrimRight(base, "/"), key: key, hc: hc}
}

// Error is an error answer of the server.
type Error struct {
	Status  int
	Code    string
	Message string
	kind    error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server: %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Unwrap returns the engine sentinel matching the status.
func (e *Error) Unwrap() error { return e.kind }

func kindOf(status int, code string) error {
	switch status {
	case http.StatusNotFound:
		return engine.ErrNotFound
	case http.StatusConflict:
		return engine.ErrExists
	case http.StatusBadRequest:
		return engine.ErrInvalid
	case http.StatusRequestEntityTooLarge:
		return engine.ErrTooLarge
	case http.StatusForbidden:
		return engine.ErrForbidden
	case http.StatusUnprocessableEntity:
		return engine.ErrUnsupported
	case http.StatusTooManyRequests:
		return engine.ErrBusy
	case http.StatusInsufficientStorage:
		return engine.ErrDiskFull
	case http.StatusServiceUnavailable:
		if code == "not_ready" {
			return engine.ErrNotReady
		}
		return engine.ErrUnavailable
	}
	return nil
}

// maxResponse bounds a response body read into memory.
const maxResponse = 256 << 20

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		_ = json.Unmarshal(b, &eb)
		return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, kind: kindOf(resp.StatusCode, eb.Error.Code)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("client: %s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}

func collPath(name string) string { return "/v1/collections/" + url.PathEscape(name) }

// CreateCollection creates a collection.
func (c *Client) CreateCollection(ctx context.Context, req api.CreateCollectionRequest) (api.Collection, error) {
	var out api.Collection
	return out, c.do(ctx, http.MethodPost, "/v1/collections", req, &out)
}

// Collection returns a collection's schema and count.
func (c *Client) Collection(ctx context.Context, name string) (api.Collection, error) {
	var out api.Collection
	return out, c.do(ctx, http.MethodGet, collPath(name), nil, &out)
}

// Collections lists every collection.
func (c *Client) Collections(ctx context.Context) ([]api.Collection, error) {
	var out api.CollectionList
	return out.Collections, c.do(ctx, http.MethodGet, "/v1/collections", nil, &out)
}

// DropCollection deletes a collection and everything in it.
func (c *Client) DropCollection(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, collPath(name), nil, nil)
}

// Upsert writes a batch and returns the ids in order.
func (c *Client) Upsert(ctx context.Context, coll string, objs []api.Object) ([]uint64, error) {
	var out api.UpsertResponse
	err := c.do(ctx, http.MethodPut, collPath(coll)+"/objects", api.UpsertRequest{Objects: objs}, &out)
	return out.IDs, err
}

// Object returns one object with its vectors.
func (c *Client) Object(ctx context.Context, coll string, id uint64) (api.Object, error) {
	var out api.Object
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("%s/objects/%d", collPath(coll), id), nil, &out)
}

// ListObjects returns a page of objects with ids greater than after.
func (c *Client) ListObjects(ctx context.Context, coll string, after uint64, limit int) (api.ObjectList, error) {
	var out api.ObjectList
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("%s/objects?after=%d&limit=%d", collPath(coll), after, limit), nil, &out)
}

// Scan calls fn for every object of a collection (without vectors), page
// by page in id order.
func (c *Client) Scan(ctx context.Context, coll string, fn func(api.Object) error) error {
	after := uint64(0)
	for {
		page, err := c.ListObjects(ctx, coll, after, engine.MaxList)
		if err != nil {
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

// DeleteObject deletes one object.
func (c *Client) DeleteObject(ctx context.Context, coll string, id uint64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("%s/objects/%d", collPath(coll), id), nil, nil)
}

// Search runs a query.
func (c *Client) Search(ctx context.Context, coll string, req api.SearchRequest) (api.SearchResponse, error) {
	var out api.SearchResponse
	return out, c.do(ctx, http.MethodPost, collPath(coll)+"/search", req, &out)
}

// Ready returns nil when the server's /readyz answers 200, else its reason.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil)
}
