package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"rosetta/api"
)

// isMultipart reports whether r carries multipart/form-data.
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// decodeMultipartUpsert reads an upsert sent as multipart/form-data: one
// part named "objects" holding the same JSON as the JSON body
// ({"objects": [...]}), and file parts named "image.N" or "audio.N" holding
// the raw bytes of objects[N]'s content (so images need no base64). The
// whole body is bounded by MaxBodyBytes.
func (a *server) decodeMultipartUpsert(w http.ResponseWriter, r *http.Request, req *api.UpsertRequest) error {
	limit := a.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return tooLargef("request body exceeds %d bytes", limit)
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if params["boundary"] == "" {
		return invalidf("multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(http.MaxBytesReader(innermost(w), r.Body, limit), params["boundary"])
	type file struct {
		kind string
		idx  int
		data []byte
	}
	var files []file
	gotObjects := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return multipartError(err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return multipartError(err)
		}
		name := p.FormName()
		switch {
		case name == "objects":
			if gotObjects {
				return invalidf("multipart upload has two parts named objects")
			}
			gotObjects = true
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(req); err != nil {
				return bodyError(err)
			}
			if dec.More() {
				return invalidf("the objects part has data after the JSON value")
			}
		case strings.HasPrefix(name, "image.") || strings.HasPrefix(name, "audio."):
			kind, num, _ := strings.Cut(name, ".")
			idx, err := strconv.Atoi(num)
			if err != nil || idx < 0 {
				return invalidf("part %s: want image.N or audio.N with N the object's index", quote(name))
			}
			files = append(files, file{kind, idx, data})
		default:
			return invalidf("unknown multipart part %s (want objects, image.N, audio.N)", quote(name))
		}
	}
	if !gotObjects {
		return invalidf("a multipart upload needs a part named objects with the JSON batch")
	}
	for _, f := range files {
		if f.idx >= len(req.Objects) {
			return invalidf("part %s.%d: the batch has %d objects", f.kind, f.idx, len(req.Objects))
		}
		o := &req.Objects[f.idx]
		if o.Content == nil {
			o.Content = &api.Content{}
		}
		if f.kind == "image" {
			o.Content.Image = f.data
		} else {
			o.Content.Audio = f.data
		}
	}
	return nil
}

func multipartError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLargef("request body exceeds %d bytes", tooLarge.Limit)
	}
	return invalidf("malformed multipart body: %v", err)
}
