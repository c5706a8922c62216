// Package httpapi is the REST API that `rosetta serve` exposes over an
// [Engine]. It owns HTTP concerns only: routing, decoding and validating
// request bodies, mapping engine errors to status codes, authentication,
// request logging and metrics. Storage, indexing and encoding stay behind
// the Engine interface, which *engine.Engine implements and tests fake.
//
// # Routes
//
//	POST   /v1/collections                               create a collection        → 201 Collection
//	GET    /v1/collections                               list collections           → 200 {"collections": [...]}
//	GET    /v1/collections/{collection}                  one collection             → 200 Collection
//	GET    /v1/collections/{collection}/stats            its overview               → 200 CollectionStats
//	DELETE /v1/collections/{collection}                  drop it and its objects    → 204
//	POST   /v1/collections/{collection}/rebuild          rebuild its indexes        → 204
//	PUT    /v1/collections/{collection}/objects          upsert a batch             → 200 {"ids": [...]}
//	GET    /v1/collections/{collection}/objects          a page of objects          → 200 {"objects": [...], "next": ...}
//	GET    /v1/collections/{collection}/objects/{id}     one object                 → 200 Object
//	DELETE /v1/collections/{collection}/objects/{id}     delete one object          → 204
//	GET    /v1/collections/{collection}/objects/{id}/media, .../thumbnail   its file, a JPEG thumbnail
//	POST   /v1/collections/{collection}/search           k-NN search                → 200 {"hits": [...], "took_ms": ...}
//	POST   /v1/session/media, DELETE                     the media cookie for the page
//	GET    /healthz                                      liveness, always 200
//	GET    /readyz                                       200 when the engine is ready, else 503
//	GET    /metrics                                      Prometheus exposition
//	GET    /openapi.json                                 OpenAPI 3.0 description of all of the above
//	GET    /, /ui/*                                      the browser search page
//
// Every route names the collection {collection}, so the OpenAPI document
// has one path parameter for it. HEAD is served wherever GET is
// (chi's middleware.GetHead), with GET's status and headers and no body.
//
// GET /openapi.json is the reference for request and response schemas
// ([OpenAPI] returns it without a server). Tests keep it and the router in
// step (TestOpenAPIMatchesRoutes), check every field of real responses
// against it (TestResponsesMatchOpenAPI), and scripts/openapi-lint.sh lints
// it with Redocly's recommended rules. It has servers: [{"url": "/"}] (the
// server it is fetched from) and puts the bearer requirement on every
// operation that needs the key, whether or not this server has one, so
// generated clients send the key where it is checked.
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
// value and wrong types are 400; a missing Content-Type, or one other than
// application/json (or +json; multipart/form-data on upserts), is 415. Decoded vectors must be
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
// Every error response, including 404 for unknown routes, 405 for a known
// route with the wrong method (Allow lists the methods it has), and the
// errors that net/http's file handlers would write as text (416 and 412
// from range and conditional requests on .../media and .../thumbnail, 404
// under /ui/; see jsonErrors), has the body
//
//	{"error": {"code": "not_found", "message": "..."}}
//
// Codes and statuses: invalid_request 400, unauthorized 401, not_found 404,
// method_not_allowed 405, already_exists 409, payload_too_large 413,
// unsupported_media_type 415, unsupported 422 (e.g. a text query on a space
// without a model), canceled 499 (the client went away), internal 500,
// not_ready 503 (with Retry-After), unavailable 503 (engine closed),
// timeout 504, forbidden 403, busy 429, insufficient_storage 507,
// precondition_failed 412, range_not_satisfiable 416 (Content-Range says
// the file's size). Engine errors are mapped to these in one function
// (apiErrorFrom) with errors.Is on the engine's sentinel errors. Internal
// errors are logged with their cause and answered with a generic message.
//
// # Middleware
//
// From the outside in: a recoverer (a panicking handler is logged with its
// stack and answered 500 internal; the server keeps serving), request
// observation (X-Request-ID, the Prometheus request metrics and one
// info-level access-log line per request: method, route, path, status,
// duration, bytes, request_id), CORS, HEAD routing, then API-key
// authentication. With [Options.APIKey] set, every request except GET
// /healthz, the page's files and (with PublicMetrics) GET /metrics must
// carry "Authorization: Bearer <key>"; the key is compared in constant
// time.
//
// CORS is off unless [Options.CORSOrigins] names origins (or "*"). Then a
// preflight from an allowed origin (OPTIONS with
// Access-Control-Request-Method) is answered 204 before authentication,
// with Allow-Methods GET, HEAD, POST, PUT, DELETE and Allow-Headers
// Authorization, Content-Type, X-Request-ID (and the range and conditional
// headers); actual responses, errors included, carry
// Access-Control-Allow-Origin and expose X-Request-ID, Retry-After,
// Location, ETag and Content-Range. Access-Control-Allow-Credentials is
// never sent: cross-origin pages send the key in the header, never a
// cookie, which also makes "*" safe. Other origins get no CORS headers.
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
