package httpapi

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"rosetta/engine"
)

func TestMetricsExposition(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	s.mustDo(200, nil, "POST", "/v1/collections/media/search", `{"space":"image","query":{"vector":[1,0,0]},"k":1}`)
	s.do("POST", "/v1/collections/media/search", `{"k":0}`)
	s.do("GET", "/v1/collections/nope", "")
	s.do("GET", "/no/such/route/12345", "")
	s.do("BREW", "/v1/collections", "")

	rec := s.do("GET", "/metrics", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`rosetta_http_requests_total{code="201",method="POST",route="/v1/collections"} 2`,
		`rosetta_http_requests_total{code="200",method="PUT",route="/v1/collections/{collection}/objects"} 1`,
		`rosetta_http_requests_total{code="200",method="POST",route="/v1/collections/{collection}/search"} 1`,
		`rosetta_http_requests_total{code="400",method="POST",route="/v1/collections/{collection}/search"} 1`,
		`rosetta_http_requests_total{code="404",method="GET",route="/v1/collections/{collection}"} 1`,
		`rosetta_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`rosetta_http_requests_total{code="405",method="other",route="unmatched"} 1`,
		`rosetta_http_request_duration_seconds_bucket{code="200",method="POST",route="/v1/collections/{collection}/search",le="0.0005"}`,
		`rosetta_http_request_duration_seconds_count{code="200",method="POST",route="/v1/collections/{collection}/search"} 1`,
		`rosetta_http_requests_in_flight 1`, // this scrape
		`rosetta_collections 2`,
		`rosetta_collection_objects{collection="media"} 3`,
		`rosetta_collection_objects{collection="plain"} 0`,
		`rosetta_index_nodes{collection="media",space="image"} 3`,
		`rosetta_index_nodes{collection="media",space="text"} 1`,
		`go_goroutines `,
		`promhttp_metric_handler_requests_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "12345") {
		t.Error("an unmatched path leaked into a label")
	}
}

// TestMetricsEncodeBatches: the engine's encoder-call figures become a
// batch-size histogram and counters per model and medium.
func TestMetricsEncodeBatches(t *testing.T) {
	s := newTestServer(t, Options{})
	s.e.mu.Lock()
	s.e.batches = []engine.EncodeBatchStats{{Model: "openai/clip-vit-base-patch32", Medium: "image",
		Calls: 6, Inputs: 21, Sizes: []uint64{2, 1, 0, 3, 0, 0, 0, 0}, Batched: 4, Fallbacks: 1}}
	s.e.mu.Unlock()
	body := s.do("GET", "/metrics", "").Body.String()
	for _, want := range []string{
		`rosetta_encode_batch_size_bucket{medium="image",model="openai/clip-vit-base-patch32",le="1"} 2`,
		`rosetta_encode_batch_size_bucket{medium="image",model="openai/clip-vit-base-patch32",le="2"} 3`,
		`rosetta_encode_batch_size_bucket{medium="image",model="openai/clip-vit-base-patch32",le="4"} 3`,
		`rosetta_encode_batch_size_bucket{medium="image",model="openai/clip-vit-base-patch32",le="8"} 6`,
		`rosetta_encode_batch_size_bucket{medium="image",model="openai/clip-vit-base-patch32",le="+Inf"} 6`,
		`rosetta_encode_batch_size_sum{medium="image",model="openai/clip-vit-base-patch32"} 21`,
		`rosetta_encode_batch_size_count{medium="image",model="openai/clip-vit-base-patch32"} 6`,
		`rosetta_encode_batched_calls_total{medium="image",model="openai/clip-vit-base-patch32"} 4`,
		`rosetta_encode_batch_fallbacks_total{medium="image",model="openai/clip-vit-base-patch32"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMetricsSharedRegistry(t *testing.T) {
	// Two handlers on one registry (a restart in tests, say) must not panic
	// on duplicate registration.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector()) // registered by someone else first
	s1 := newTestServer(t, Options{Registry: reg})
	s2 := newTestServer(t, Options{Registry: reg})
	s1.do("GET", "/healthz", "")
	s2.do("GET", "/healthz", "")
	body := s2.do("GET", "/metrics", "").Body.String()
	if !strings.Contains(body, `rosetta_http_requests_total{code="200",method="GET",route="/healthz"} 2`) {
		t.Errorf("shared counter not shared:\n%s", body)
	}
}

func TestSplitIndexKey(t *testing.T) {
	for key, want := range map[string][2]string{
		"c/image": {"c", "image"}, "c": {"c", ""}, "c/a/b": {"c", "a/b"},
	} {
		if c, s := splitIndexKey(key); c != want[0] || s != want[1] {
			t.Errorf("splitIndexKey(%q) = %q, %q", key, c, s)
		}
	}
}
