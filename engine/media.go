package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// This file is the one home of the server's file-access policy: which
// files it may read because an object names them as its source. The
// /media and /thumbnail routes and re-ranking all go through OpenSource.

// MaxSourceRead bounds how much of a source file the engine reads into
// memory (re-ranking decodes the image); larger files are not read.
const MaxSourceRead = 64 << 20

// Source is an object's source file, resolved, checked and open at its
// start. The caller closes File.
type Source struct {
	File   *os.File
	Info   fs.FileInfo
	Path   string // the file, symbolic links resolved
	Object Object
}

// AddMediaRoot records a folder the collection's files were ingested from
// (see store.DB.AddMediaRoot). Only local tools call it: the HTTP API
// offers no way to record a root.
func (e *Engine) AddMediaRoot(ctx context.Context, coll, dir string) error {
	if _, err := e.coll(coll); err != nil {
		return err
	}
	return e.db.AddMediaRoot(coll, dir)
}

// MediaRoots lists the folders recorded by AddMediaRoot.
func (e *Engine) MediaRoots(ctx context.Context, coll string) ([]string, error) {
	if _, err := e.coll(coll); err != nil {
		return nil, err
	}
	return e.db.MediaRoots(coll)
}

// within reports whether path is root or lies below it. Both must be
// cleaned absolute paths.
func within(root, path string) bool {
	if root == path {
		return true
	}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		root += string(filepath.Separator)
	}
	return strings.HasPrefix(path, root)
}

func errOutsideRoots(id uint64) error {
	return fmt.Errorf("%w: object %d's source is not under a media folder: the server reads only files under folders that `rosetta ingest --data` recorded for the collection or that `rosetta serve --media-root` names", ErrForbidden, id)
}

// OpenSource opens an object's original: the blob kept when it was
// uploaded; else the file its source names, if the server may read it
// (under one of the collection's recorded media roots or
// Options.MediaRoots, see OpenUnder); else, for a segment (an audio
// window or a video frame, metadata "parent"), its parent's kept
// original. A video frame's own blob is its keyframe (see OpenStill), not
// its media: its media is its video.
func (e *Engine) OpenSource(ctx context.Context, coll string, id uint64) (*Source, error) {
	obj, err := e.GetObject(ctx, coll, id)
	if err != nil {
		return nil, err
	}
	return e.openSource(ctx, coll, obj)
}

func (e *Engine) openSource(ctx context.Context, coll string, obj Object) (*Source, error) {
	if obj.Blob != "" && !IsFrameSegment(obj.Metadata) {
		return e.openBlob(obj)
	}
	roots, err := e.db.MediaRoots(coll)
	if err != nil {
		return nil, err
	}
	src, err := OpenUnder(obj, append(roots, e.opts.MediaRoots...))
	if err == nil || !errors.Is(err, ErrForbidden) {
		return src, err
	}
	if parent, ok := obj.Metadata["parent"].(string); ok {
		if pid, ok, _ := e.db.IDOfKey(coll, parent); ok {
			if po, perr := e.GetObject(ctx, coll, pid); perr == nil && po.Blob != "" {
				s, perr := e.openBlob(po)
				if perr == nil {
					s.Object = obj
				}
				return s, perr
			}
		}
	}
	return nil, err
}

func (e *Engine) openBlob(obj Object) (*Source, error) {
	f, err := e.blobs.open(obj.Blob)
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", obj.ID, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Source{File: f, Info: fi, Path: f.Name(), Object: obj}, nil
}

// OpenUnder is the file policy itself: obj's source must be an absolute
// path that, with every symbolic link resolved, lies under one of roots
// (resolved the same way), and it must be a regular file. The source is
// checked against the roots before the filesystem is touched, so that the
// answer (ErrForbidden against ErrNotFound) tells nothing about files
// elsewhere.
func OpenUnder(obj Object, roots []string) (*Source, error) {
	id := obj.ID
	if obj.Source == "" {
		return nil, fmt.Errorf("%w: object %d has no source file", ErrNotFound, id)
	}
	if !filepath.IsAbs(obj.Source) {
		return nil, errOutsideRoots(id)
	}
	var rs []string // each root as given and with its symbolic links resolved
	for _, root := range roots {
		if !filepath.IsAbs(root) {
			continue
		}
		rs = append(rs, filepath.Clean(root))
		if rr, err := filepath.EvalSymlinks(root); err == nil {
			rs = append(rs, rr)
		}
	}
	under := func(p string) bool {
		for _, r := range rs {
			if within(r, p) {
				return true
			}
		}
		return false
	}
	src := filepath.Clean(obj.Source)
	if !under(src) {
		return nil, errOutsideRoots(id)
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: object %d's source file is gone", ErrNotFound, id)
		}
		return nil, errOutsideRoots(id)
	}
	if !under(real) {
		return nil, errOutsideRoots(id)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, fmt.Errorf("%w: object %d's source file cannot be opened", ErrNotFound, id)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, errOutsideRoots(id)
	}
	return &Source{File: f, Info: fi, Path: real, Object: obj}, nil
}

// OpenStill opens the still image that stands for an object, for
// thumbnails and re-ranking: a video frame's keyframe (its kept blob); a
// video's, the keyframe of the frame segment its metadata names
// (MetaKeyframe); any other object's original, as OpenSource. A video
// without a keyframe gives ErrNotFound.
func (e *Engine) OpenStill(ctx context.Context, coll string, id uint64) (*Source, error) {
	obj, err := e.GetObject(ctx, coll, id)
	if err != nil {
		return nil, err
	}
	switch {
	case IsFrameSegment(obj.Metadata) && obj.Blob != "":
		return e.openBlob(obj)
	case obj.Modality == "video":
		key, _ := obj.Metadata[MetaKeyframe].(string)
		if key == "" {
			return nil, fmt.Errorf("%w: video %d has no keyframe", ErrNotFound, obj.ID)
		}
		fid, ok, err := e.db.IDOfKey(coll, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: video %d's keyframe %q is gone", ErrNotFound, obj.ID, key)
		}
		frame, err := e.GetObject(ctx, coll, fid)
		if err != nil {
			return nil, err
		}
		if frame.Blob == "" || frame.Metadata["parent"] != obj.Key {
			return nil, fmt.Errorf("%w: video %d has no kept keyframe", ErrNotFound, obj.ID)
		}
		s, err := e.openBlob(frame)
		if err == nil {
			s.Object = obj
		}
		return s, err
	}
	return e.openSource(ctx, coll, obj)
}

// readSource reads an object's still image through OpenStill, refusing
// files over MaxSourceRead.
func (e *Engine) readSource(ctx context.Context, coll string, id uint64) ([]byte, error) {
	s, err := e.OpenStill(ctx, coll, id)
	if err != nil {
		return nil, err
	}
	defer s.File.Close()
	if s.Info.Size() > MaxSourceRead {
		return nil, fmt.Errorf("%w: object %d's source is %d bytes; the limit is %d", ErrTooLarge, id, s.Info.Size(), MaxSourceRead)
	}
	return io.ReadAll(io.LimitReader(s.File, MaxSourceRead))
}
