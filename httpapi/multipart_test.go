package httpapi

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"
)

func multipartBody(t *testing.T, parts ...[2]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		fw, err := w.CreateFormField(p[0])
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(p[1]))
	}
	w.Close()
	return b.String(), w.FormDataContentType()
}

func TestMultipartUpsert(t *testing.T) {
	s := newTestServer(t, Options{})
	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"c","spaces":[{"name":"v","dim":2}]}`)
	body, ct := multipartBody(t, [2]string{"objects", `{"objects":[{"key":"a","vectors":{"v":[1,0]}},{"key":"b","vectors":{"v":[0,1]}}]}`},
		[2]string{"image.1", "\x89PNG raw bytes"})
	rec := s.do("PUT", "/v1/collections/c/objects", body, "Content-Type", ct)
	if rec.Code != http.StatusOK {
		t.Fatalf("multipart upsert: %d %s", rec.Code, rec.Body)
	}
	got := s.e.lastUpsert()
	if len(got) != 2 || got[0].Content != nil || got[1].Content == nil || string(got[1].Content.Image) != "\x89PNG raw bytes" {
		t.Fatalf("engine received %+v", got)
	}
	bad := map[string][][2]string{
		"no objects part":    {{"image.0", "x"}},
		"unknown part":       {{"objects", `{"objects":[{"key":"a"}]}`}, {"photo", "x"}},
		"index out of range": {{"objects", `{"objects":[{"key":"a"}]}`}, {"image.3", "x"}},
		"bad index":          {{"objects", `{"objects":[{"key":"a"}]}`}, {"image.x", "x"}},
		"bad json":           {{"objects", `{"objects":[`}},
		"unknown field":      {{"objects", `{"objects":[],"extra":1}`}},
		"two objects parts":  {{"objects", `{"objects":[{"key":"a"}]}`}, {"objects", `{"objects":[{"key":"b"}]}`}},
	}
	for name, parts := range bad {
		t.Run(name, func(t *testing.T) {
			body, ct := multipartBody(t, parts...)
			wantError(t, s.do("PUT", "/v1/collections/c/objects", body, "Content-Type", ct), 400, codeInvalidRequest)
		})
	}
	wantError(t, s.do("PUT", "/v1/collections/c/objects", "--x--", "Content-Type", "multipart/form-data"), 400, codeInvalidRequest)
	s.mustDo(200, nil, "GET", "/healthz", "")
}
