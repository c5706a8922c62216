package httpapi

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/jpeg"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"rosetta/encoders/audio"
	"rosetta/encoders/imageproc"
	"rosetta/engine"
	"rosetta/media/video"
)

// Thumbnail sizes: the longest side in pixels.
const (
	DefaultThumbnailSize = 256
	MinThumbnailSize     = 32
	MaxThumbnailSize     = 1024
	// DefaultThumbnailCacheBytes bounds the in-memory cache of encoded
	// thumbnails unless Options say otherwise.
	DefaultThumbnailCacheBytes = 64 << 20
	// maxThumbnailSource bounds the image file a thumbnail is made from.
	maxThumbnailSource = 64 << 20
)

// mediaFile is an object's source file, resolved, checked and open
// (positioned at its start); the handler closes it.
type mediaFile struct {
	f     *os.File
	info  fs.FileInfo
	ctype string
	etag  string // strong validator: source, size, mtime and the object's hash
}

// resolveMedia opens the file behind an object's media through the
// engine's source policy (engine.OpenSource: only files under the media
// roots) and checks that it is of a media type the server serves. Nothing
// the client sends names a path: only the object id does.
func (a *server) resolveMedia(r *http.Request) (*mediaFile, error) {
	return a.resolve(r, a.e.OpenSource)
}

// resolveStill is resolveMedia for the object's still image (a video's or
// a video frame's keyframe: engine.OpenStill), which thumbnails show.
func (a *server) resolveStill(r *http.Request) (*mediaFile, error) {
	return a.resolve(r, a.e.OpenStill)
}

func (a *server) resolve(r *http.Request, open func(context.Context, string, uint64) (*engine.Source, error)) (*mediaFile, error) {
	coll, id, err := objectPath(r)
	if err != nil {
		return nil, err
	}
	src, err := open(r.Context(), coll, id)
	if err != nil {
		return nil, err
	}
	ctype, err := sniffMedia(src.File)
	if err != nil {
		src.File.Close()
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s", src.Path, src.Info.Size(), src.Info.ModTime().UnixNano(), src.Object.Hash)
	return &mediaFile{f: src.File, info: src.Info, ctype: ctype, etag: `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`}, nil
}

// sniffMedia names a file's media type from its content: images, audio,
// video and plain text are served; anything else (HTML, SVG, executables)
// is refused, so the endpoint can never serve active content.
// It reads with ReadAt, leaving f's offset at the start.
func sniffMedia(f io.ReaderAt) (string, error) {
	head := make([]byte, 512)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch audio.Sniff(head) {
	case "wav":
		return "audio/wav", nil
	case "flac":
		return "audio/flac", nil
	case "ogg":
		return "audio/ogg", nil
	case "mp3":
		return "audio/mpeg", nil
	}
	if _, mt := video.Sniff(head); mt != "" {
		return mt, nil
	}
	switch imageproc.Sniff(head) {
	case imageproc.FormatTIFF:
		return "image/tiff", nil
	case imageproc.FormatWebP:
		return "image/webp", nil
	case imageproc.FormatBMP:
		return "image/bmp", nil
	}
	ct := http.DetectContentType(head)
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "image/png" || mt == "image/jpeg" || mt == "image/gif":
		return mt, nil
	case mt == "text/plain":
		return "text/plain; charset=utf-8", nil
	}
	return "", &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
		message: "the object's source is not an image, audio, video or plain-text file"}
}

// setMediaHeaders marks a response as inert, privately cacheable media.
func setMediaHeaders(w http.ResponseWriter, ctype, etag string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("ETag", etag)
}

// objectMedia serves GET /v1/collections/{collection}/objects/{id}/media: the
// object's original file, with range requests (audio players seek with
// them) and conditional requests.
func (a *server) objectMedia(w http.ResponseWriter, r *http.Request) {
	m, err := a.resolveMedia(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer m.f.Close()
	setMediaHeaders(w, m.ctype, m.etag)
	// ServeContent writes its errors (416 for an unsatisfiable range, 412
	// for a failed If-Match) as text; jsonErrors makes them API errors.
	http.ServeContent(a.jsonErrors(w, r), r, "", m.info.ModTime(), m.f)
}

// objectThumbnail serves GET /v1/collections/{collection}/objects/{id}/thumbnail?size=N:
// the object's image (a video's or a video frame's: its keyframe), EXIF orientation applied, scaled (never enlarged) so
// its longer side is N pixels, as JPEG. Thumbnails are cached in memory by
// the file's validator, so a changed file gets a new one.
func (a *server) objectThumbnail(w http.ResponseWriter, r *http.Request) {
	size := DefaultThumbnailSize
	if s := r.URL.Query().Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < MinThumbnailSize || n > MaxThumbnailSize {
			a.fail(w, r, invalidf("size must be an integer from %d to %d", MinThumbnailSize, MaxThumbnailSize))
			return
		}
		size = n
	}
	m, err := a.resolveStill(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer m.f.Close()
	if !strings.HasPrefix(m.ctype, "image/") {
		a.fail(w, r, &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
			message: "the object's source is not an image (" + m.ctype + ")"})
		return
	}
	etag := fmt.Sprintf(`%s-%d"`, strings.TrimSuffix(m.etag, `"`), size)
	data, hit := a.thumbs.get(etag)
	if !hit {
		// Decoding a large photo takes tens of MB: bound how many are
		// decoded at once, so a page of misses cannot exhaust memory.
		select {
		case a.thumbSlots <- struct{}{}:
		case <-r.Context().Done():
			a.fail(w, r, r.Context().Err())
			return
		}
		data, err = makeThumbnail(m.f, size)
		<-a.thumbSlots
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.thumbs.put(etag, data)
	}
	a.metrics.thumbnail(hit)
	setMediaHeaders(w, "image/jpeg", etag)
	http.ServeContent(a.jsonErrors(w, r), r, "", m.info.ModTime(), bytes.NewReader(data))
}

// makeThumbnail decodes an image file and encodes its thumbnail.
func makeThumbnail(f io.Reader, size int) ([]byte, error) {
	img, _, err := imageproc.Options{MaxBytes: maxThumbnailSource}.Decode(f)
	if err != nil {
		return nil, &apiError{status: http.StatusUnprocessableEntity, code: codeUnsupported,
			message: "the object's image cannot be decoded: " + err.Error()}
	}
	rgb := imageproc.Thumbnail(img, size)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, rgb, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}

// thumbCache is a byte-bounded LRU of encoded thumbnails.
type thumbCache struct {
	mu    sync.Mutex
	limit int
	used  int
	ll    *list.List // front = most recent; values are *thumbEntry
	byKey map[string]*list.Element
}

type thumbEntry struct {
	key  string
	data []byte
}

func newThumbCache(limit int) *thumbCache {
	return &thumbCache{limit: limit, ll: list.New(), byKey: map[string]*list.Element{}}
}

func (c *thumbCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*thumbEntry).data, true
}

func (c *thumbCache) put(key string, data []byte) {
	if len(data) > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.ll.MoveToFront(el)
		return
	}
	c.byKey[key] = c.ll.PushFront(&thumbEntry{key: key, data: data})
	c.used += len(data)
	for c.used > c.limit {
		el := c.ll.Back()
		e := el.Value.(*thumbEntry)
		c.ll.Remove(el)
		delete(c.byKey, e.key)
		c.used -= len(e.data)
	}
}

// len reports the cached entries and their bytes.
func (c *thumbCache) len() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.used
}
