package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/acme/autocert"
)

func TestACMECache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	c := mustOpenStoreAt(t, path).ACMECache()

	if _, err := c.Get(ctx, "example.org"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("Get of a missing key = %v; want autocert.ErrCacheMiss", err)
	}
	for _, data := range [][]byte{[]byte("first\x00cert"), []byte("renewed")} {
		if err := c.Put(ctx, "example.org", data); err != nil {
			t.Fatal(err)
		}
		got, err := c.Get(ctx, "example.org")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get after Put(%q) = %q, %v", data, got, err)
		}
	}
	if err := c.Put(ctx, "acme_account+key", []byte("key")); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "example.org"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := c.Get(ctx, "example.org"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("Get after Delete = %v; want autocert.ErrCacheMiss", err)
	}

	// Another process on the same file sees what was kept.
	got, err := mustOpenStoreAt(t, path).ACMECache().Get(ctx, "acme_account+key")
	if err != nil || string(got) != "key" {
		t.Fatalf("Get from a second store = %q, %v", got, err)
	}
}
