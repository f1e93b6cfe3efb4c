-- The certificate cache of ACME (-acme-domain): the account key, each
-- domain's certificate and key, and the state of orders under way, by the
-- names the ACME client gives them. Kept here, a restarted or moved server
-- serves its certificate without asking the certificate authority again.
CREATE TABLE acme_cache (
	key        TEXT PRIMARY KEY,
	data       BLOB     NOT NULL,
	updated_at DATETIME NOT NULL
) WITHOUT ROWID;
