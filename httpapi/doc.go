// Package httpapi is the REST API that `rosetta serve` exposes over an
// [Engine]. It owns HTTP concerns only: routing, decoding and validating
// request bodies, mapping engine errors to status codes, authentication,
// request logging and metrics. Storage, indexing and encoding stay behind
// the Engine interface, which *engine.Engine implements and tests fake.
//
// # Routes
//
//	POST   /v1/collections                     create a collection        → 201 Collection
//	GET    /v1/collections                     list collections           → 200 {"collections": [...]}
//	GET    /v1/collections/{collection}              one collection             → 200 Collection
//	DELETE /v1/collections/{collection}              drop it and its objects    → 204
//	PUT    /v1/collections/{collection}/objects         upsert a batch             → 200 {"ids": [...]}
//	GET    /v1/collections/{collection}/objects/{id}    one object                 → 200 Object
//	DELETE /v1/collections/{collection}/objects/{id}    delete one object          → 204
//	POST   /v1/collections/{collection}/search          k-NN search                → 200 {"hits": [...], "took_ms": ...}
//	GET    /healthz                            liveness, always 200
//	GET    /readyz                             200 when the engine is ready, else 503
//	GET    /metrics                            Prometheus exposition
//	GET    /openapi.json                       OpenAPI 3.0 description of all of the above
//
// GET /openapi.json is the reference for request and response schemas; a
// test keeps it and the router in step.
//
// # Limits
//
// A request body is at most [Options.MaxBodyBytes] (32 MiB by default); a
// larger one is answered 413 payload_too_large. One upsert carries at most
// [engine.MaxBatch] (1000) objects, also 413 beyond that: split the batch.
// A search asks for 1 ≤ k ≤ [engine.MaxK] neighbours.
// Collection and space names match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$; object
// ids in paths are decimal uint64.
//
// Bodies are decoded strictly: unknown fields, trailing data after the JSON
// value, wrong types and a Content-Type other than application/json (or
// none) are 400 (415 for the content type). Decoded vectors must be
// non-empty and finite, with a squared norm small enough that no distance
// overflows float32. The handler checks what belongs to the HTTP edge
// (names in paths, batch size, duplicate keys, query shape, k); the engine
// checks the schema, dimensions, filters and field names, and its
// ErrInvalid is answered 400 with its message.
// Duplicate external keys within one upsert batch are rejected with 400
// before the engine sees the batch, so a batch never silently collapses two
// objects into one.
//
// # Errors
//
// Every error response, including 404 for unknown routes and 405 for a
// known route with the wrong method, has the body
//
//	{"error": {"code": "not_found", "message": "..."}}
//
// Codes and statuses: invalid_request 400, unauthorized 401, not_found 404,
// method_not_allowed 405, already_exists 409, payload_too_large 413,
// unsupported_media_type 415, unsupported 422 (e.g. a text query on a space
// without a model), canceled 499 (the client went away), internal 500,
// not_ready 503 (with Retry-After), unavailable 503 (engine closed),
// timeout 504. Engine errors are mapped to these in one function
// (apiErrorFrom) with errors.Is on the engine's sentinel errors. Internal
// errors are logged with their cause and answered with a generic message.
//
// # Middleware
//
// From the outside in: a recoverer (a panicking handler is logged with its
// stack and answered 500 internal; the server keeps serving), request
// observation (X-Request-ID, the debug-level slog line and the Prometheus
// request metrics), then API-key authentication. With [Options.APIKey] set,
// every request except GET /healthz and GET /metrics must carry
// "Authorization: Bearer <key>"; the key is compared in constant time.
//
// # Metrics
//
// rosetta_http_requests_total and rosetta_http_request_duration_seconds
// carry the labels route (the chi route pattern, e.g.
// /v1/collections/{collection}/search, or "unmatched"), method and code;
// rosetta_http_requests_in_flight is a gauge. Engine gauges come from
// Engine.Stats on every scrape: rosetta_collections,
// rosetta_collection_objects{collection} and
// rosetta_index_nodes{collection,space}. The Go runtime and process
// collectors are registered too.
//
// The handler returned by [New] is safe for concurrent use when the Engine
// is. [NewServer] wraps it in an *http.Server with production timeouts.
package httpapi
