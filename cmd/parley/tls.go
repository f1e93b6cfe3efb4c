package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"parley/store"
)

// http2Streams is how many streams one HTTP/2 connection may have open at
// once: a browser keeps each tab's event stream and its requests on one
// connection, so this bounds the tabs one browser keeps live.
const http2Streams = 250

// checkTLSOptions reports a contradiction among the HTTPS settings.
func checkTLSOptions(o options) error {
	switch {
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return errors.New("-tls-cert and -tls-key go together: give both or neither")
	case o.acmeDomain != "" && o.tlsCert != "":
		return errors.New("-acme-domain gets its own certificate: leave out -tls-cert and -tls-key")
	case o.acmeDomain != "" && !isDomainName(o.acmeDomain):
		return fmt.Errorf("-acme-domain %q: want a domain name such as chat.example.org", o.acmeDomain)
	}
	if o.acmeDomain != "" {
		if u, err := url.Parse(o.acmeDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("-acme-directory %q: want an https:// URL", o.acmeDirectory)
		}
	}
	return nil
}

// isDomainName reports whether s looks like a domain name a certificate
// authority can issue for: dotted, with no port, path or address.
func isDomainName(s string) bool {
	return strings.Contains(strings.Trim(s, "."), ".") && net.ParseIP(s) == nil &&
		!strings.ContainsAny(s, ":/ *")
}

// servesTLS reports whether the options ask for HTTPS.
func (o options) servesTLS() bool { return o.tlsCert != "" || o.acmeDomain != "" }

// tlsConfig returns the TLS settings of the listener, or nil to serve plain
// HTTP. The certificate comes from -tls-cert and -tls-key, read now so a
// bad file stops the start, or by ACME for -acme-domain, kept in the
// database.
func tlsConfig(o options, st *store.Store) (*tls.Config, error) {
	switch {
	case o.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		return &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
		}, nil
	case o.acmeDomain != "":
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      st.ACMECache(),
			HostPolicy: autocert.HostWhitelist(o.acmeDomain),
			Client:     &acme.Client{DirectoryURL: o.acmeDirectory, HTTPClient: o.acmeHTTPClient},
		}
		// TLSConfig offers h2, http/1.1 and acme-tls/1, so the authority
		// can check the domain by TLS-ALPN-01 on this very listener.
		c := m.TLSConfig()
		c.MinVersion = tls.VersionTLS12
		return c, nil
	}
	return nil, nil
}

// serveHTTP serves srv on ln: over TLS, with HTTP/2 and HTTP/1.1, when srv
// has a TLS configuration, else plain HTTP/1.1.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig == nil {
		return srv.Serve(ln)
	}
	srv.HTTP2 = &http.HTTP2Config{
		MaxConcurrentStreams: http2Streams,
		// A connection whose peer stopped reading is closed, its streams
		// with it, as a taken-over HTTP/1.1 stream would be.
		WriteByteTimeout: 10 * time.Second,
		// An idle connection carries only the streams' heartbeats one
		// way; a ping now and then finds peers that went away.
		SendPingTimeout: time.Minute,
	}
	return srv.ServeTLS(ln, "", "")
}
