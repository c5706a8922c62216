package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// The browser search page: static files compiled into the binary, no CDN,
// no build step. Everything it shows comes from the JSON API.
//
//go:embed ui/index.html ui/app.js ui/app.css
var uiFiles embed.FS

// uiCSP allows the page its own scripts, styles, API calls, images and
// media; nothing from elsewhere, no inline code.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; media-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// isUIPath reports whether a request path is one of the page's public
// files, which are served without the API key.
func isUIPath(p string) bool { return p == "/" || strings.HasPrefix(p, "/ui/") }

func setUIHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// The files change with the binary: revalidate rather than guess.
	h.Set("Cache-Control", "no-cache")
}

// serveUIIndex serves GET /: the search page.
func (a *server) serveUIIndex(w http.ResponseWriter, r *http.Request) {
	b, err := uiFiles.ReadFile("ui/index.html")
	if err != nil {
		a.fail(w, r, err) // a build bug: 500 internal, logged
		return
	}
	setUIHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// uiAssets serves GET /ui/*: the page's script and style sheet. Its
// errors (404 for a file that is not there) are JSON like the API's.
func (a *server) uiAssets() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embed directive names the directory: a build bug
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			a.notFound(w, r) // no directory listings
			return
		}
		setUIHeaders(w)
		files.ServeHTTP(a.jsonErrors(w, r), r)
	})
}
