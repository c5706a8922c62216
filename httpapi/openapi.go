package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"rosetta/engine"
	"rosetta/textindex"
)

// The OpenAPI 3.0 document served at GET /openapi.json is built from the Go
// values below rather than kept as a string, so that limits such as
// engine.MaxBatch and the error codes come from the code they describe.
// TestOpenAPIMatchesRoutes keeps its paths and the router in step.

type oaDoc struct {
	OpenAPI    string                `json:"openapi"`
	Info       oaInfo                `json:"info"`
	Servers    []oaServer            `json:"servers"`
	Paths      map[string]oaPathItem `json:"paths"`
	Components oaComponents          `json:"components"`
}

type oaServer struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

type oaInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// oaPathItem maps a lower-case HTTP method to its operation.
type oaPathItem map[string]*oaOperation

type oaSecurityReq map[string][]string

type oaOperation struct {
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description,omitempty"`
	Tags        []string               `json:"tags,omitempty"`
	Parameters  []*oaParameter         `json:"parameters,omitempty"`
	RequestBody *oaRequestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*oaResponse `json:"responses"`
	Security    *[]oaSecurityReq       `json:"security,omitempty"` // non-nil empty: no auth
}

type oaParameter struct {
	Ref         string    `json:"$ref,omitempty"`
	Name        string    `json:"name,omitempty"`
	In          string    `json:"in,omitempty"`
	Description string    `json:"description,omitempty"`
	Required    bool      `json:"required,omitempty"`
	Schema      *oaSchema `json:"schema,omitempty"`
}

type oaRequestBody struct {
	Required bool               `json:"required"`
	Content  map[string]oaMedia `json:"content"`
}

type oaResponse struct {
	Ref         string              `json:"$ref,omitempty"`
	Description string              `json:"description,omitempty"`
	Headers     map[string]oaHeader `json:"headers,omitempty"`
	Content     map[string]oaMedia  `json:"content,omitempty"`
}

type oaHeader struct {
	Description string    `json:"description,omitempty"`
	Schema      *oaSchema `json:"schema"`
}

type oaMedia struct {
	Schema *oaSchema `json:"schema"`
}

type oaSchema struct {
	Ref                  string               `json:"$ref,omitempty"`
	Type                 string               `json:"type,omitempty"`
	Format               string               `json:"format,omitempty"`
	Description          string               `json:"description,omitempty"`
	Properties           map[string]*oaSchema `json:"properties,omitempty"`
	Required             []string             `json:"required,omitempty"`
	AdditionalProperties any                  `json:"additionalProperties,omitempty"` // bool or *oaSchema
	MinProperties        *int                 `json:"minProperties,omitempty"`
	MaxProperties        *int                 `json:"maxProperties,omitempty"`
	Items                *oaSchema            `json:"items,omitempty"`
	MinItems             *int                 `json:"minItems,omitempty"`
	MaxItems             *int                 `json:"maxItems,omitempty"`
	Enum                 []string             `json:"enum,omitempty"`
	Default              any                  `json:"default,omitempty"`
	Pattern              string               `json:"pattern,omitempty"`
	Minimum              *int                 `json:"minimum,omitempty"`
	Maximum              *int                 `json:"maximum,omitempty"`
	ReadOnly             bool                 `json:"readOnly,omitempty"`
}

type oaComponents struct {
	Schemas         map[string]*oaSchema         `json:"schemas"`
	Parameters      map[string]*oaParameter      `json:"parameters"`
	Responses       map[string]*oaResponse       `json:"responses"`
	SecuritySchemes map[string]*oaSecurityScheme `json:"securitySchemes"`
}

type oaSecurityScheme struct {
	Type        string `json:"type"`
	Scheme      string `json:"scheme"`
	Description string `json:"description,omitempty"`
}

// Schema helpers.

func ref(kind, name string) string { return "#/components/" + kind + "/" + name }
func schemaRef(name string) *oaSchema {
	return &oaSchema{Ref: ref("schemas", name)}
}
func intp(n int) *int { return &n }

func str(desc string) *oaSchema { return &oaSchema{Type: "string", Description: desc} }
func integer(desc string, min, max *int) *oaSchema {
	return &oaSchema{Type: "integer", Description: desc, Minimum: min, Maximum: max}
}
func uint64Schema(desc string) *oaSchema {
	return &oaSchema{Type: "integer", Format: "uint64", Minimum: intp(0), Description: desc}
}
func array(items *oaSchema, desc string) *oaSchema {
	return &oaSchema{Type: "array", Items: items, Description: desc}
}
func object(props map[string]*oaSchema, required ...string) *oaSchema {
	return &oaSchema{Type: "object", Properties: props, Required: required, AdditionalProperties: false}
}
func jsonContent(s *oaSchema) map[string]oaMedia {
	return map[string]oaMedia{"application/json": {Schema: s}}
}
func jsonBody(schema string) *oaRequestBody {
	return &oaRequestBody{Required: true, Content: jsonContent(schemaRef(schema))}
}
func jsonResponse(desc, schema string) *oaResponse {
	return &oaResponse{Description: desc, Content: jsonContent(schemaRef(schema))}
}
func paramRef(name string) *oaParameter { return &oaParameter{Ref: ref("parameters", name)} }
func responseRef(name string) *oaResponse {
	return &oaResponse{Ref: ref("responses", name)}
}

// withErrors adds the error responses named by status code to rs.
func withErrors(rs map[string]*oaResponse, statuses ...int) map[string]*oaResponse {
	for _, s := range statuses {
		rs[strconv.Itoa(s)] = responseRef(errorResponseNames[s])
	}
	return rs
}

// errorResponseNames names the component response of each error status.
var errorResponseNames = map[int]string{
	http.StatusBadRequest:                   "BadRequest",
	http.StatusUnauthorized:                 "Unauthorized",
	http.StatusForbidden:                    "Forbidden",
	http.StatusNotFound:                     "NotFound",
	http.StatusConflict:                     "Conflict",
	http.StatusRequestEntityTooLarge:        "PayloadTooLarge",
	http.StatusUnsupportedMediaType:         "UnsupportedMediaType",
	http.StatusUnprocessableEntity:          "Unsupported",
	http.StatusInternalServerError:          "Internal",
	http.StatusServiceUnavailable:           "Unavailable",
	http.StatusTooManyRequests:              "Busy",
	http.StatusInsufficientStorage:          "InsufficientStorage",
	http.StatusRequestedRangeNotSatisfiable: "RangeNotSatisfiable",
	http.StatusPreconditionFailed:           "PreconditionFailed",
}

// errorCodes lists every error code, for the Error schema's enum.
var errorCodes = []string{
	codeInvalidRequest, codeUnauthorized, codeNotFound, codeMethodNotAllowed,
	codeAlreadyExists, codePayloadTooLarge, codeUnsupportedMediaType, codeUnsupported,
	codeCanceled, codeInternal, codeNotReady, codeUnavailable, codeTimeout, codeForbidden, codeBusy, codeInsufficientStorage,
	codeRangeNotSatisfiable, codePreconditionFailed,
}

// openAPIDocument describes the API. It is the same whether or not the
// server has an API key: the operations that need one say so, and a server
// started without a key ignores the Authorization header.
func openAPIDocument() *oaDoc {
	const (
		tagCollections = "collections"
		tagObjects     = "objects"
		tagSearch      = "search"
		tagOps         = "operations"
	)
	noAuth := &[]oaSecurityReq{}
	// Every API route can answer these.
	common := []int{http.StatusUnauthorized, http.StatusInternalServerError, http.StatusServiceUnavailable}
	withBody := []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}

	paths := map[string]oaPathItem{
		"/v1/collections": {
			"post": {
				OperationID: "createCollection",
				Summary:     "Create a collection",
				Tags:        []string{tagCollections},
				RequestBody: jsonBody("CollectionCreate"),
				Responses: withErrors(map[string]*oaResponse{
					"201": {
						Description: "The collection was created.",
						Headers: map[string]oaHeader{"Location": {
							Description: "The collection's URL.", Schema: str(""),
						}},
						Content: jsonContent(schemaRef("Collection")),
					},
				}, slices.Concat(withBody, common, []int{http.StatusConflict})...),
			},
			"get": {
				OperationID: "listCollections",
				Summary:     "List the collections",
				Tags:        []string{tagCollections},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("All collections.", "CollectionList"),
				}, common...),
			},
		},
		"/v1/collections/{collection}": {
			"get": {
				OperationID: "getCollection",
				Summary:     "Get a collection's schema and object count",
				Tags:        []string{tagCollections},
				Parameters:  []*oaParameter{paramRef("Collection")},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The collection.", "Collection"),
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
			"delete": {
				OperationID: "dropCollection",
				Summary:     "Drop a collection and all its objects",
				Tags:        []string{tagCollections},
				Parameters:  []*oaParameter{paramRef("Collection")},
				Responses: withErrors(map[string]*oaResponse{
					"204": {Description: "The collection was dropped."},
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
		},
		"/v1/collections/{collection}/objects": {
			"get": {
				OperationID: "listObjects",
				Summary:     "List objects in id order, a page at a time (without vectors)",
				Tags:        []string{tagObjects},
				Parameters: []*oaParameter{paramRef("Collection"),
					{Name: "after", In: "query", Description: "Return ids greater than this (the previous page's next).", Schema: uint64Schema("")},
					{Name: "limit", In: "query", Description: "Page size, 1 to " + strconv.Itoa(engine.MaxList) + " (default 100).",
						Schema: integer("", intp(1), intp(engine.MaxList))}},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("A page of objects; next is set when more may follow.", "ObjectPage"),
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
			"put": {
				OperationID: "upsertObjects",
				Summary:     "Insert or replace a batch of objects",
				Description: "Objects are matched by id, or by external key when the id is 0. " +
					"Content (text, base64 image) is encoded by the models of the spaces that name one; " +
					"images can also come as multipart/form-data parts. " +
					"A batch holds 1 to " + strconv.Itoa(engine.MaxBatch) + " objects (more is 413); " +
					"an external key may appear once per batch (a duplicate is 400). " +
					"Every object is durable when the call returns.",
				Tags:       []string{tagObjects},
				Parameters: []*oaParameter{paramRef("Collection")},
				RequestBody: &oaRequestBody{Required: true, Content: map[string]oaMedia{
					"application/json": {Schema: schemaRef("UpsertRequest")},
					"multipart/form-data": {Schema: &oaSchema{Type: "object",
						Description:          `A part "objects" with the JSON batch, and file parts "image.N" / "audio.N" with the raw content of objects[N].`,
						Properties:           map[string]*oaSchema{"objects": str("The UpsertRequest JSON.")},
						AdditionalProperties: &oaSchema{Type: "string", Format: "binary"}}},
				}},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The objects' ids, in the order of the request.", "UpsertResponse"),
				}, slices.Concat(withBody, common, []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusInsufficientStorage})...),
			},
		},
		"/v1/collections/{collection}/objects/{id}": {
			"get": {
				OperationID: "getObject",
				Summary:     "Get an object",
				Tags:        []string{tagObjects},
				Parameters:  []*oaParameter{paramRef("Collection"), paramRef("ObjectID")},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The object.", "Object"),
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
			"delete": {
				OperationID: "deleteObject",
				Summary:     "Delete an object",
				Tags:        []string{tagObjects},
				Parameters:  []*oaParameter{paramRef("Collection"), paramRef("ObjectID")},
				Responses: withErrors(map[string]*oaResponse{
					"204": {Description: "The object was deleted."},
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
		},
		"/v1/collections/{collection}/rebuild": {
			"post": {
				OperationID: "rebuildCollection",
				Summary:     "Rebuild a collection's indexes from the store",
				Description: "The repair for a collection whose indexes failed to load (see /readyz). Answers when the rebuild is done; searches and writes on the collection get 503 not_ready meanwhile.",
				Tags:        []string{tagCollections},
				Parameters:  []*oaParameter{paramRef("Collection")},
				Responses: withErrors(map[string]*oaResponse{
					"204": {Description: "Rebuilt."},
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
		},
		"/v1/collections/{collection}/stats": {
			"get": {
				OperationID: "collectionStats",
				Summary:     "A collection's overview: objects per modality, index health, change counter",
				Description: "last_seq grows with every committed change: poll it to see ingest in progress.",
				Tags:        []string{tagCollections},
				Parameters:  []*oaParameter{paramRef("Collection")},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The overview.", "CollectionStats"),
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusNotFound})...),
			},
		},
		"/v1/collections/{collection}/objects/{id}/media": {
			"get": {
				OperationID: "getObjectMedia",
				Summary:     "The object's original file (image, audio, video or text)",
				Description: "Served only when the object's source, symbolic links resolved, lies under a folder " +
					"recorded by `rosetta ingest --data` or named by `rosetta serve --media-root`. Supports " +
					"Range and conditional requests. A segment's media is its parent's file (an audio window's " +
					"recording, a video frame's video): play it from the segment's segment_start.",
				Tags:       []string{tagObjects},
				Parameters: []*oaParameter{paramRef("Collection"), paramRef("ObjectID")},
				Responses: withErrors(map[string]*oaResponse{
					"200": {Description: "The file.", Content: map[string]oaMedia{"*/*": {Schema: &oaSchema{Type: "string", Format: "binary"}}}},
					"206": {Description: "The requested byte range."},
					"304": {Description: "Not modified."},
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusUnsupportedMediaType,
					http.StatusRequestedRangeNotSatisfiable, http.StatusPreconditionFailed})...),
			},
		},
		"/v1/collections/{collection}/objects/{id}/thumbnail": {
			"get": {
				OperationID: "getObjectThumbnail",
				Summary:     "A JPEG thumbnail of the object's image (a video's or a video frame's: its keyframe), cached in memory",
				Tags:        []string{tagObjects},
				Parameters: []*oaParameter{paramRef("Collection"), paramRef("ObjectID"), {Name: "size", In: "query",
					Description: "Longest side in pixels (never enlarged).",
					Schema:      &oaSchema{Type: "integer", Minimum: intp(MinThumbnailSize), Maximum: intp(MaxThumbnailSize), Default: DefaultThumbnailSize}}},
				Responses: withErrors(map[string]*oaResponse{
					"200": {Description: "The thumbnail.", Content: map[string]oaMedia{"image/jpeg": {Schema: &oaSchema{Type: "string", Format: "binary"}}}},
					"304": {Description: "Not modified."},
				}, slices.Concat(common, []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity,
					http.StatusRequestedRangeNotSatisfiable, http.StatusPreconditionFailed})...),
			},
		},
		"/v1/session/media": {
			"post": {
				OperationID: "startMediaSession",
				Summary:     "Set the media cookie, so <img> and <audio> can load media from a server with an API key",
				Description: "The cookie (HttpOnly, SameSite=Strict) holds an HMAC of the key, not the key, and opens only " +
					"GET/HEAD of .../media and .../thumbnail. Nothing is set when the server has no key.",
				Tags: []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"204": {Description: "The cookie is set."},
				}, http.StatusUnauthorized),
			},
			"delete": {
				OperationID: "endMediaSession",
				Summary:     "Clear the media cookie",
				Tags:        []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"204": {Description: "The cookie is cleared."},
				}, http.StatusUnauthorized),
			},
		},
		"/": {
			"get": {
				OperationID: "searchPage",
				Summary:     "The browser search page (its files are under /ui/; no API key needed)",
				Tags:        []string{tagOps},
				Security:    noAuth,
				Responses: map[string]*oaResponse{
					"200": {Description: "HTML.", Content: map[string]oaMedia{"text/html": {Schema: str("")}}},
				},
			},
		},
		"/v1/collections/{collection}/search": {
			"post": {
				OperationID: "search",
				Summary:     "Find the k nearest objects to a query",
				Description: "The query is a vector, a stored object's vector, or text, an image or audio " +
					"that the space's model encodes (422 unsupported when the space has no model for it).",
				Tags:        []string{tagSearch},
				Parameters:  []*oaParameter{paramRef("Collection")},
				RequestBody: jsonBody("SearchRequest"),
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The hits, nearest first.", "SearchResponse"),
				}, slices.Concat(withBody, common, []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests})...),
			},
		},
		"/healthz": {
			"get": {
				OperationID: "healthz",
				Summary:     "Liveness: the process serves HTTP",
				Tags:        []string{tagOps},
				Security:    noAuth,
				Responses: map[string]*oaResponse{
					"200": jsonResponse("Always.", "Status"),
				},
			},
		},
		"/readyz": {
			"get": {
				OperationID: "readyz",
				Summary:     "Readiness: the engine answers queries",
				Tags:        []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("Ready.", "Status"),
				}, http.StatusUnauthorized, http.StatusServiceUnavailable),
			},
		},
		"/v1/cluster": {
			"get": {
				OperationID: "clusterStatus",
				Summary:     "The cluster: its nodes, their health, and every collection's shard map",
				Description: "Cluster mode only (rosetta serve --cluster); a single server answers 404.",
				Tags:        []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The cluster as the answering node sees it.", "ClusterStatus"),
				}, http.StatusUnauthorized, http.StatusNotFound),
			},
		},
		"/v1/version": {
			"get": {
				OperationID: "version",
				Summary:     "The server's build: version, commit, Go version, kernels and CPU features",
				Tags:        []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"200": jsonResponse("The build.", "Version"),
				}, http.StatusUnauthorized),
			},
		},
		"/metrics": {
			"get": {
				OperationID: "metrics",
				Summary:     "Prometheus metrics",
				Description: "Needs the API key or the metrics token (--metrics-token), unless the server runs with --public-metrics.",
				Tags:        []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"200": {
						Description: "Prometheus text exposition format.",
						Content:     map[string]oaMedia{"text/plain": {Schema: str("")}},
					},
				}, http.StatusUnauthorized),
			},
		},
		"/openapi.json": {
			"get": {
				OperationID: "openapi",
				Summary:     "This document",
				Tags:        []string{tagOps},
				Responses: withErrors(map[string]*oaResponse{
					"200": {
						Description: "The OpenAPI 3.0 description of the API.",
						Content:     jsonContent(&oaSchema{Type: "object"}),
					},
				}, http.StatusUnauthorized),
			},
		},
	}

	nameSchema := &oaSchema{Type: "string", Pattern: engine.NamePattern}
	dateTime := &oaSchema{Type: "string", Format: "date-time", ReadOnly: true}
	float := &oaSchema{Type: "number", Format: "float"}
	vector := &oaSchema{Type: "array", Items: float, MinItems: intp(1)}
	base64 := &oaSchema{Type: "string", Format: "byte"}

	textFields := &oaSchema{Type: "array", Items: str(""), MaxItems: intp(engine.MaxKeywordFields),
		Description: "Metadata string fields the keyword index holds besides text content and derived texts; null or absent: " + strings.Join(engine.DefaultTextFields, ", ") + "."}
	language := &oaSchema{Type: "string", Enum: textindex.Languages(), Description: "The keyword index's analysis (default en; CJK text is split into bigrams in every language)."}
	keywordIndex := &oaSchema{Type: "boolean", Default: true, Description: "false: the collection has no keyword index."}
	transcribe := object(map[string]*oaSchema{
		"model":    str("A Whisper model (a catalogue name such as openai/whisper-base, or a directory under the server's models directory)."),
		"language": str("The speech's language code (en, de, …); auto or absent: detected per object."),
	}, "model")
	transcribe.Description = "Transcribe every audio object written with its content and no text.transcript of its own: the object gets text.transcript (and metadata transcript_language), and each stretch of speech becomes a segment object keyed KEY#w=START,END (metadata parent, segment_start, segment_end, segment_kind transcript) holding its text.transcript, embedded in every space whose model has a text tower and indexed by the keyword index."
	rerankModel := str("An image-text matching model (a BLIP retrieval checkpoint: catalogue name or a directory under the server's models directory) whose image tokens every image object written with its content keeps, as float16 beside it (577×768 values, 886,285 bytes per image for BLIP-base at 384 px; writing an image then also runs that model's image tower, unless it is the space's model), so that a text → image search re-ranked with it reads them instead of running the image tower per candidate. It is the rerank model of a search whose rerank names none. Not in cluster mode.")
	sideHit := object(map[string]*oaSchema{
		"rank":  integer("1-based rank in that side's list.", intp(1), nil),
		"score": {Type: "number", Format: "float", Description: "That side's score: BM25, or the vector score."},
	}, "rank", "score")
	schemas := map[string]*oaSchema{
		"Error": object(map[string]*oaSchema{
			"error": object(map[string]*oaSchema{
				"code":    {Type: "string", Enum: errorCodes},
				"message": str("What went wrong, for people."),
			}, "code", "message"),
		}, "error"),
		"Status": object(map[string]*oaSchema{"status": str("ok or ready")}, "status"),
		"Space": object(map[string]*oaSchema{
			"name": nameSchema,
			"dim":  integer("Vector dimension.", intp(1), nil),
			"metric": {Type: "string", Default: "cosine",
				Description: "cosine, dot or l2 (on input also cos, ip, inner, euclidean)."},
			"model": str("The model that fills this space, if any."),
			"precision": {Type: "string", Enum: []string{"float32", "int8"},
				Description: "What the model computes with: float32, or int8 (weights quantised per output channel, activations per row; a quarter of the weight memory, embeddings within cosine 0.999 of float32's). Absent: the server's default (rosetta serve --precision, float32 unless set). Only for a space with a model."},
		}, "name", "dim"),

		"IndexParams": object(map[string]*oaSchema{
			"m":               integer("HNSW neighbours per node; 0 is the default.", intp(0), nil),
			"ef_construction": integer("HNSW build beam width; 0 is the default.", intp(0), nil),
			"ef_search":       integer("Default search beam width; 0 is the default.", intp(0), nil),
			"storage": {Type: "string", Enum: []string{"float32", "float16", "int8", "rabitq"}, Default: "float32",
				Description: "How the graph keeps vectors: float32, float16 (half the memory), int8 (a byte a dimension, scalar-quantised) or rabitq (a bit a dimension, RaBitQ); int8 and rabitq candidates are re-scored exactly."},
			"rescore": integer("int8, rabitq: candidates re-scored against full-precision vectors per result (rescore×k); 0 is the storage's default (2 for int8; 40 for rabitq, whose re-scoring stops at the estimator's error bound).", intp(0), nil),
			"rescore_from": {Type: "string", Enum: []string{"memory", "store"}, Default: "memory",
				Description: "int8, rabitq: where re-scoring reads full-precision vectors: a float16 copy in memory, or the stored vectors (the index then keeps only codes and links)."},
		}),
		"CollectionCreate": object(map[string]*oaSchema{
			"name":          nameSchema,
			"spaces":        {Type: "array", Items: schemaRef("Space"), MinItems: intp(1)},
			"index":         schemaRef("IndexParams"),
			"text_fields":   textFields,
			"language":      language,
			"keyword_index": keywordIndex,
			"transcribe":    transcribe,
			"rerank_model":  rerankModel,
			"shards":        integer("Cluster mode only: shards (one replicated log each) the objects are hashed over by id; default one per live data node.", intp(1), intp(256)),
			"replicas":      integer("Cluster mode only: nodes that hold each shard; default min(2, live data nodes).", intp(1), intp(7)),
		}, "name", "spaces"),
		"Collection": object(map[string]*oaSchema{
			"name":          nameSchema,
			"spaces":        array(schemaRef("Space"), ""),
			"index":         schemaRef("IndexParams"),
			"text_fields":   textFields,
			"language":      language,
			"keyword_index": keywordIndex,
			"transcribe":    transcribe,
			"rerank_model":  rerankModel,
			"created":       dateTime,
			"count":         {Type: "integer", Description: "Live objects.", ReadOnly: true},
			"shards":        {Type: "integer", Description: "Cluster mode: the collection's shards.", ReadOnly: true},
			"replicas":      {Type: "integer", Description: "Cluster mode: nodes holding each shard.", ReadOnly: true},
		}, "name", "spaces", "index", "created", "count"),
		"ClusterStatus": object(map[string]*oaSchema{
			"cluster":    str("The cluster's name."),
			"node":       str("The node that answered."),
			"rebalancer": {Type: "boolean", Description: "Whether the answering node holds the rebalancing lease."},
			"nodes": array(object(map[string]*oaSchema{
				"name":      str(""),
				"addr":      str("Its REST address."),
				"role":      {Type: "string", Enum: []string{"data", "encoder"}},
				"healthy":   {Type: "boolean", Description: "Its last heartbeat is recent."},
				"last_seen": {Type: "string", Format: "date-time"},
				"started":   {Type: "string", Format: "date-time"},
				"applied": {Type: "object", AdditionalProperties: &oaSchema{Type: "integer", Format: "int64"},
					Description: "collection/shard → the log sequence its replica there has applied."},
			}, "name", "addr", "role", "healthy", "last_seen", "started"), ""),
			"collections": array(object(map[string]*oaSchema{
				"name":     nameSchema,
				"shards":   {Type: "integer"},
				"replicas": {Type: "integer"},
				"epoch":    {Type: "integer", Format: "int64", Description: "Grows with every change of the assignment."},
				"serving":  array(array(str(""), ""), "Per shard: the nodes serving it."),
				"joining":  array(array(str(""), ""), "Per shard: the nodes replaying its log to serve it."),
			}, "name", "shards", "replicas", "epoch", "serving", "joining"), ""),
		}, "cluster", "node", "rebalancer", "nodes", "collections"),
		"CollectionList": object(map[string]*oaSchema{
			"collections": array(schemaRef("Collection"), ""),
		}, "collections"),
		"Object": object(map[string]*oaSchema{
			"id":       uint64Schema("0 on input: assign one, or use the object with this key."),
			"key":      str("External key, unique in the collection."),
			"modality": str("image, text, audio, video, ..."),
			"source":   str("Path or URI the object came from."),
			"hash":     str("Content hash."),
			"metadata": {Type: "object", AdditionalProperties: true,
				Description: "Any JSON object; its scalar fields are filterable."},
			"text": {Type: "object", AdditionalProperties: str(""),
				Description: "Derived text (captions, transcripts) by kind."},
			"vectors": {Type: "object", AdditionalProperties: vector,
				Description: "Vectors by space name; finite numbers of the space's dimension."},
			"content": object(map[string]*oaSchema{
				"text":  str("Text to encode with the models of the collection's spaces; stored. A text longer than the model's window is split into chunk objects (key KEY#c=START,END)."),
				"image": base64,
				"audio": base64,
				"keep": {Type: "boolean", Default: true,
					Description: "Keep the image or audio as the object's original on the server (stored once per distinct content), so its media and thumbnail are served."},
			}),
			"created": dateTime,
			"updated": dateTime,
		}),
		"ObjectPage": object(map[string]*oaSchema{
			"objects": {Type: "array", Items: schemaRef("Object")},
			"next":    uint64Schema("The after= of the next page."),
		}, "objects"),
		"UpsertRequest": object(map[string]*oaSchema{
			"objects": {Type: "array", Items: schemaRef("Object"),
				MinItems: intp(1), MaxItems: intp(engine.MaxBatch)},
		}, "objects"),
		"UpsertResponse": object(map[string]*oaSchema{
			"ids": array(uint64Schema(""), "In the order of the request."),
			"sequences": {Type: "object", AdditionalProperties: &oaSchema{Type: "integer", Format: "int64", Minimum: intp(1)},
				Description: "Cluster mode: for each shard the write touched (by number), the log sequence of its last entry."},
		}, "ids"),
		"Query": {
			Type:          "object",
			Description:   "Exactly one of the properties.",
			MinProperties: intp(1),
			MaxProperties: intp(1),
			Properties: map[string]*oaSchema{
				"vector": vector,
				"object": uint64Schema("Search with this stored object's vector in the space."),
				"text":   str("Encoded by the space's model."),
				"image":  base64,
				"audio":  base64,
			},
			AdditionalProperties: false,
		},
		"SearchRequest": object(map[string]*oaSchema{
			"space": {Type: "string", Pattern: engine.NamePattern,
				Description: "May be omitted when the collection has one space."},
			"query": schemaRef("Query"),
			"k":     integer("How many hits (default "+strconv.Itoa(engine.DefaultK)+").", intp(1), intp(engine.MaxK)),
			"ef": integer("Search beam width: 0 for the collection's default (widened to offset+k), else at least k. "+
				"Pages asked with the same ef slice one ranking.", intp(0), intp(engine.MaxEf)),
			"offset": integer("Hits to skip (paging; offset+k at most "+strconv.Itoa(engine.MaxK)+"). Use the answer's next_offset and ef.", intp(0), intp(engine.MaxK)),
			"group_by": {Type: "string", Enum: []string{"parent"},
				Description: "parent: one hit per file (audio windows, video frames and text chunks fold into their parent), with its best segments."},
			"exclude":   array(uint64Schema(""), "Ids left out of the results (e.g. the query object of more-like-this); at most "+strconv.Itoa(engine.MaxExclude)+"."),
			"min_score": {Type: "number", Format: "float", Description: "Drop hits scoring below this (cosine and dot spaces)."},
			"filter": {Type: "object", AdditionalProperties: true,
				Description: `A metadata filter: {"field": "f", "eq": v}, also ne, in, gt, gte, lt, lte, exists; ` +
					`combined with {"and": [...]}, {"or": [...]}, {"not": {...}}.`},
			"fields": array(&oaSchema{Type: "string", Enum: []string{
				"key", "modality", "source", "hash", "metadata", "text", "content", "vectors", "created", "updated", "*",
			}}, "Object fields to return with each hit (* for all); none means ids and scores only."),
			"modality": {Type: "string", Enum: engine.Modalities, Description: "Only objects of this modality (e.g. text for image → text search)."},
			"rerank": object(map[string]*oaSchema{
				"model": str("An image-text matching model (BLIP retrieval checkpoint); absent: the collection's rerank_model."),
				"top":   integer("Candidates to re-score.", intp(1), intp(engine.MaxRerank)),
			}, "top"),
			"mode": {Type: "string", Enum: []string{engine.ModeVector, engine.ModeKeyword, engine.ModeHybrid},
				Description: "vector: k-NN in the space; keyword: BM25 over the keyword index; hybrid: both, fused. " +
					"Default: hybrid when the keyword index holds documents and the query has text for it and a vector side, keyword when there is no vector side (or a text query on a space without a model), else vector."},
			"keyword": str("The keyword side's query (default: query.text). Syntax: words (any of them), \"a phrase\", prefix*, fuzzy~1, +required, -excluded, field:word (content, text.caption, metadata.title or title)."),
			"fusion": object(map[string]*oaSchema{
				"method": {Type: "string", Enum: []string{engine.FusionRRF, engine.FusionRelativeScore},
					Description: "rrf: score Σ 1/(k + rank) over the lists; relative_score: each list min-max normalised, alpha·vector + (1−alpha)·keyword."},
				"k":     integer("RRF's rank constant (default "+strconv.Itoa(engine.DefaultRRFK)+").", intp(1), intp(engine.MaxK)),
				"alpha": {Type: "number", Description: "relative_score: the vector side's weight in [0, 1] (default 0.75)."},
			}, "method"),
			"alpha":    {Type: "number", Description: "Shorthand for fusion {method: relative_score, alpha}."},
			"snippets": {Type: "boolean", Default: true, Description: "Highlight the keyword matches of each hit the keyword side found (costs a record read and an analysis per hit)."},
			"boost": {Type: "object", AdditionalProperties: &oaSchema{Type: "number"},
				Description: "Per keyword field BM25 multipliers, e.g. {\"title\": 2}."},
			"consistency": {Type: "string", Enum: []string{engine.ConsistencyEventual, engine.ConsistencyReadYourWrites}, Default: engine.ConsistencyEventual,
				Description: "Cluster mode: read_your_writes answers only once the replicas asked have applied every write acknowledged before the search (waiting a bounded time, else 503). A single server always reads its own writes."},
		}),
		"Hit": object(map[string]*oaSchema{
			"id":           uint64Schema(""),
			"score":        {Type: "number", Format: "float", Description: "Similarity for cosine and dot, distance for l2."},
			"distance":     {Type: "number", Format: "float", Description: "The index's distance; smaller is nearer."},
			"rerank_score": {Type: "number", Format: "float", Description: "The matching model's probability, when the query was re-ranked."},
			"object":       schemaRef("Object"),
			"segments": array(schemaRef("Hit"), "With group_by parent: the file's best segments, best first (at most "+
				strconv.Itoa(engine.MaxGroupSegments)+")."),
			"found_by": object(map[string]*oaSchema{
				"vector":  sideHit,
				"keyword": sideHit,
			}),
			"snippets": array(object(map[string]*oaSchema{
				"field": str("The keyword field: content, text.caption, metadata.title, …"),
				"parts": array(object(map[string]*oaSchema{
					"text":  str(""),
					"match": {Type: "boolean", Description: "A matched word: show it highlighted (as text, never as markup)."},
				}, "text"), "The window of text, in order."),
			}, "field", "parts"), "Keyword and hybrid modes: the matches in the hit's texts (at most "+strconv.Itoa(engine.MaxSnippets)+" fields)."),
		}, "id", "score", "distance"),
		"CollectionStats": object(map[string]*oaSchema{
			"name":          nameSchema,
			"spaces":        array(schemaRef("Space"), ""),
			"index":         schemaRef("IndexParams"),
			"text_fields":   textFields,
			"language":      language,
			"keyword_index": keywordIndex,
			"transcribe":    transcribe,
			"rerank_model":  rerankModel,
			"keyword_stats": object(map[string]*oaSchema{
				"documents": {Type: "integer", Description: "Documents in the keyword index."},
				"slots":     {Type: "integer", Description: "Document slots, those of replaced and deleted documents included (a snapshot compacts them once they outnumber the live ones)."},
				"terms":     {Type: "integer", Description: "Distinct (field, term) pairs."},
				"postings":  {Type: "integer", Description: "Postings held (deleted ones not yet dropped included)."},
				"bytes":     {Type: "integer", Description: "Memory held, estimated."},
				"language":  language,
			}, "documents", "slots", "terms", "postings", "bytes", "language"),
			"created":     dateTime,
			"count":       {Type: "integer", Description: "Live objects."},
			"modalities":  {Type: "object", AdditionalProperties: &oaSchema{Type: "integer"}, Description: "Live objects per modality (\"\" for none)."},
			"segments":    {Type: "integer", Description: "Audio windows (objects with a parent), counted in audio too."},
			"last_seq":    uint64Schema("The collection's change counter."),
			"applied_seq": uint64Schema("The last change the in-memory indexes reflect."),
			"media_roots": array(str(""), "Folders recorded by local ingest."),
			"state":       {Type: "string", Enum: []string{"ready", "loading", "failed"}, Description: "Whether the collection's indexes serve."},
			"error":       str("Why the indexes failed to load (state failed): drop the collection or POST .../rebuild."),
			"space_stats": array(object(map[string]*oaSchema{
				"name":           nameSchema,
				"live":           {Type: "integer", Description: "Searchable vectors."},
				"slots":          {Type: "integer", Description: "Graph nodes, tombstones included."},
				"tombstones":     {Type: "integer", Description: "Deleted, awaiting compaction."},
				"storage":        {Type: "string", Enum: []string{"float32", "float16", "int8", "rabitq"}},
				"snapshot":       {Type: "string", Format: "date-time", Description: "When the index was last written to disk."},
				"snapshot_bytes": {Type: "integer"},
				"skipped":        {Type: "integer", Description: "Stored vectors the index refused while loading (left out)."},
			}, "name", "live", "slots", "tombstones", "storage"), "One per space."),
			"server": object(map[string]*oaSchema{
				"objects_written":   {Type: "integer", Description: "Objects written since the server started (all collections)."},
				"objects_deleted":   {Type: "integer"},
				"searches":          {Type: "integer"},
				"thumbnails_cached": {Type: "integer"},
			}, "objects_written", "objects_deleted", "searches", "thumbnails_cached"),
		}, "name", "spaces", "count", "modalities", "segments", "last_seq", "space_stats", "server"),
		"Version": object(map[string]*oaSchema{
			"version":      str("The release, or dev."),
			"commit":       str("The VCS revision it was built from (+dirty when modified); empty when unknown."),
			"go_version":   str(""),
			"os":           str(""),
			"arch":         str(""),
			"kernels":      {Type: "string", Enum: []string{"avx512", "avx2", "generic"}, Description: "The distance kernels selected."},
			"cpu_features": array(str(""), "SIMD features detected on this CPU."),
		}, "version", "commit", "go_version", "os", "arch", "kernels", "cpu_features"),
		"SearchResponse": object(map[string]*oaSchema{
			"hits":        array(schemaRef("Hit"), "Nearest first."),
			"took_ms":     {Type: "number", Description: "Milliseconds spent in the engine."},
			"ef":          integer("The beam width the vector search used (0 in keyword mode): send it with next_offset for the next page.", intp(0), nil),
			"next_offset": integer("The offset of the next page; absent on the last one.", intp(0), nil),
			"mode":        {Type: "string", Enum: []string{engine.ModeVector, engine.ModeKeyword, engine.ModeHybrid}, Description: "The ranking used."},
		}, "hits", "took_ms", "ef", "mode"),
	}

	errResp := func(desc string) *oaResponse { return jsonResponse(desc, "Error") }
	responses := map[string]*oaResponse{
		"BadRequest":           errResp("invalid_request: malformed JSON, unknown field, wrong type, trailing data or an invalid value."),
		"Unauthorized":         errResp("unauthorized: the server requires Authorization: Bearer <key>."),
		"NotFound":             errResp("not_found: no such collection, space or object."),
		"Forbidden":            errResp("forbidden: the object's source file is not under a media folder of the server."),
		"Conflict":             errResp("already_exists."),
		"PayloadTooLarge":      errResp("payload_too_large: the body or the batch is over the limit."),
		"UnsupportedMediaType": errResp("unsupported_media_type: send Content-Type: application/json."),
		"Unsupported":          errResp("unsupported: e.g. a text query on a space without a model."),
		"Internal":             errResp("internal: a server fault; details are in the server log."),
		"RangeNotSatisfiable": {
			Description: "range_not_satisfiable: the Range header asks for bytes outside the file.",
			Headers: map[string]oaHeader{"Content-Range": {
				Description: "bytes */SIZE: the file's size.", Schema: str(""),
			}},
			Content: jsonContent(schemaRef("Error")),
		},
		"PreconditionFailed": errResp("precondition_failed: If-Match or If-Unmodified-Since did not hold."),
		"Busy": {
			Description: "busy: the server's budget of decoded pixels, audio seconds or concurrent encodes stayed full; retry after Retry-After seconds.",
			Headers: map[string]oaHeader{"Retry-After": {
				Description: "Seconds to wait before retrying.", Schema: &oaSchema{Type: "integer"},
			}},
			Content: jsonContent(schemaRef("Error")),
		},
		"InsufficientStorage": {
			Description: "insufficient_storage: the disk is full; the write was not made. Writes work again once space is freed.",
			Headers: map[string]oaHeader{"Retry-After": {
				Description: "Seconds to wait before retrying.", Schema: &oaSchema{Type: "integer"},
			}},
			Content: jsonContent(schemaRef("Error")),
		},
		"Unavailable": {
			Description: "not_ready (indexes loading or rebuilding) or unavailable (a collection whose indexes failed to load, a store refusing writes, shutting down).",
			Headers: map[string]oaHeader{"Retry-After": {
				Description: "Seconds to wait before retrying.", Schema: &oaSchema{Type: "integer"},
			}},
			Content: jsonContent(schemaRef("Error")),
		},
	}

	params := map[string]*oaParameter{
		"Collection": {Name: "collection", In: "path", Required: true, Description: "Collection name.", Schema: nameSchema},
		"ObjectID":   {Name: "id", In: "path", Required: true, Description: "Object id.", Schema: uint64Schema("")},
	}

	// Every operation that is not public needs the key; saying so on each
	// one (rather than globally) makes generated clients send it exactly
	// where the server checks it.
	bearer := &[]oaSecurityReq{{"apiKey": {}}}
	for _, item := range paths {
		for _, op := range item {
			if op.Security == nil {
				op.Security = bearer
			}
		}
	}

	doc := &oaDoc{
		OpenAPI: "3.0.3",
		Info: oaInfo{
			Title:   "Rosetta",
			Version: "1",
			Description: "Multimodal embedding search. Errors are always " +
				`{"error":{"code":"...","message":"..."}}.`,
		},
		// Relative: the document is served by the server it describes,
		// wherever that is exposed.
		Servers: []oaServer{{URL: "/", Description: "The server that serves this document."}},
		Paths:   paths,
		Components: oaComponents{
			Schemas:    schemas,
			Parameters: params,
			Responses:  responses,
			SecuritySchemes: map[string]*oaSecurityScheme{
				"apiKey": {Type: "http", Scheme: "bearer", Description: "The server's API key (rosetta serve --api-key-file, " +
					"$ROSETTA_API_KEY or --api-key). A server started without a key ignores the header."},
			},
		},
	}
	return doc
}

// OpenAPI returns the OpenAPI 3.0 document that GET /openapi.json serves,
// as indented JSON, for tools that want it without a server (the lint in
// scripts/openapi-lint.sh). The caller owns the returned slice.
func OpenAPI() []byte { return mustMarshalOpenAPI() }

// mustMarshalOpenAPI returns the document as JSON. It cannot fail on the
// static values above; a panic here is caught by every test.
func mustMarshalOpenAPI() []byte {
	b, err := json.MarshalIndent(openAPIDocument(), "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}
