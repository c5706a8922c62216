package httpapi

import (
	"net/http"

	"rosetta/api"
	"rosetta/internal/buildinfo"
)

// healthz serves GET /healthz: the process is up and serving HTTP. It does
// not consult the engine, so a long index rebuild never gets the process
// restarted by a liveness probe.
func (a *server) healthz(w http.ResponseWriter, r *http.Request) {
	a.writeJSON(w, r, http.StatusOK, api.Status{Status: "ok"})
}

// readyz serves GET /readyz: 200 when the engine serves every collection
// and the store accepts writes; else 503 with why (still loading, a
// collection whose indexes failed to load, a full disk), so that load
// balancers hold traffic back and operators see the reason.
func (a *server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := a.e.Health(); err != nil {
		a.fail(w, r, &apiError{
			status:  http.StatusServiceUnavailable,
			code:    codeNotReady,
			message: clientMessage(err),
			cause:   err,
		})
		return
	}
	a.writeJSON(w, r, http.StatusOK, api.Status{Status: "ready"})
}

// version serves GET /v1/version: the build, for bug reports and fleets.
func (a *server) version(w http.ResponseWriter, r *http.Request) {
	a.writeJSON(w, r, http.StatusOK, buildinfo.Get())
}

// serveOpenAPI serves GET /openapi.json.
func (a *server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(a.openapi)
}
