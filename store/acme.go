package store

import (
	"context"
	"database/sql"
	"errors"

	"golang.org/x/crypto/acme/autocert"
)

// ACMECache keeps the ACME client's certificates and keys in the database
// (table acme_cache), so every process serving the database shares them.
// It implements autocert.Cache.
type ACMECache struct {
	s *Store
}

var _ autocert.Cache = ACMECache{}

// ACMECache returns the database's ACME certificate cache.
func (s *Store) ACMECache() ACMECache { return ACMECache{s} }

// Get returns the data stored under key, or autocert.ErrCacheMiss.
func (c ACMECache) Get(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := c.s.DB.QueryRowContext(ctx, `SELECT data FROM acme_cache WHERE key = $1`, key).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, autocert.ErrCacheMiss
	case err != nil:
		return nil, wrap("acme cache get", err)
	}
	return data, nil
}

// Put stores data under key, replacing what was there.
func (c ACMECache) Put(ctx context.Context, key string, data []byte) error {
	_, err := c.s.DB.ExecContext(ctx,
		`INSERT INTO acme_cache (key, data, updated_at) VALUES ($1, $2, $3)
		 ON CONFLICT (key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		key, data, c.s.now())
	if err != nil {
		return wrap("acme cache put", err)
	}
	return nil
}

// Delete removes what is stored under key; a missing key is no error.
func (c ACMECache) Delete(ctx context.Context, key string) error {
	if _, err := c.s.DB.ExecContext(ctx, `DELETE FROM acme_cache WHERE key = $1`, key); err != nil {
		return wrap("acme cache delete", err)
	}
	return nil
}
