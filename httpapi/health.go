package httpapi

import "net/http"

// status is the body of a successful health or readiness probe.
type status struct {
	Status string `json:"status"`
}

// healthz serves GET /healthz: the process is up and serving HTTP. It does
// not consult the engine, so a long index rebuild never gets the process
// restarted by a liveness probe.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	a.writeJSON(w, r, http.StatusOK, status{Status: "ok"})
}

// readyz serves GET /readyz: 200 when the engine can answer queries, 503
// while it loads or rebuilds its indexes, so that load balancers hold
// traffic back.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if !a.e.Ready() {
		a.fail(w, r, &apiError{
			status:  http.StatusServiceUnavailable,
			code:    codeNotReady,
			message: "the engine is loading or rebuilding its indexes",
		})
		return
	}
	a.writeJSON(w, r, http.StatusOK, status{Status: "ready"})
}

// serveOpenAPI serves GET /openapi.json.
func (a *api) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(a.openapi)
}
