// Package assets holds the files browsers load next to the pages: the
// stylesheet, the scripts (Parley's own and the vendored htmx, see
// VERSIONS.md) and the icon. They are embedded in the binary and served with
// a content hash in the URL, so they can be cached for a year.
package assets

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is the URL path under which the assets are served.
const Prefix = "/assets/"

type file struct {
	body  []byte
	hash  string
	ctype string
}

var files = load()

func load() map[string]file {
	m := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(b)
		}
		m[strings.TrimPrefix(p, "static/")] = file{body: b, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	if err != nil {
		panic("assets: " + err.Error())
	}
	return m
}

// Path returns the URL of the named asset, with its content hash in the
// query so that a changed file gets a new URL. It panics on an unknown
// name: that is a programming error caught by any test that renders a page.
func Path(name string) string {
	f, ok := files[name]
	if !ok {
		panic("assets: no asset " + name)
	}
	return Prefix + name + "?v=" + f.hash
}

// Handler serves the assets under Prefix. A request that names the current
// hash may cache the answer for a year; any other is told to revalidate.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", `"`+f.hash+`"`)
		if r.URL.Query().Get("v") == f.hash {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}
