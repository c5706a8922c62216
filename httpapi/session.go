package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
)

// The media cookie lets <img> and <audio> elements, which cannot send an
// Authorization header, load thumbnails and media from a server that
// requires an API key. The page trades its key for the cookie once
// (POST /v1/session/media). The cookie holds HMAC-SHA256(key, a fixed
// label), not the key: it cannot be replayed as a bearer token, and it
// opens only GET and HEAD on the media and thumbnail routes, which change
// nothing, so a cross-site request could gain nothing even without
// SameSite=Strict.
const (
	mediaCookie      = "rosetta_media"
	mediaCookieLabel = "rosetta media cookie v1"
	mediaCookieAge   = 12 * 3600 // seconds
)

// mediaRoute matches the routes the cookie opens.
var mediaRoute = regexp.MustCompile(`^/v1/collections/[^/]+/objects/[^/]+/(media|thumbnail)$`)

func (a *server) mediaToken() string {
	m := hmac.New(sha256.New, []byte(a.opts.APIKey))
	m.Write([]byte(mediaCookieLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// mediaCookieOK reports whether r is a GET or HEAD of a media route that
// carries a valid media cookie.
func (a *server) mediaCookieOK(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if !mediaRoute.MatchString(routingPath(r)) {
		return false
	}
	c, err := r.Cookie(mediaCookie)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(a.mediaToken()))
}

// startMediaSession serves POST /v1/session/media: behind the API key like
// every route, it sets the media cookie (nothing when the server has no
// key).
func (a *server) startMediaSession(w http.ResponseWriter, r *http.Request) {
	if a.opts.APIKey != "" {
		http.SetCookie(w, &http.Cookie{Name: mediaCookie, Value: a.mediaToken(), Path: "/v1/collections/",
			MaxAge: mediaCookieAge, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	w.WriteHeader(http.StatusNoContent)
}

// endMediaSession serves DELETE /v1/session/media: it clears the cookie.
func (a *server) endMediaSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: mediaCookie, Value: "", Path: "/v1/collections/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	w.WriteHeader(http.StatusNoContent)
}
