package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"parley/store"
)

// pebble is a test certificate authority speaking ACME, in this process.
type pebble struct {
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler] // set by validate
	orders  atomic.Int32                 // new orders asked for
}

// startPebble starts serving a test ACME authority over HTTPS; it answers
// once validate has said where to check domains.
func startPebble(t *testing.T) *pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no bad nonces on purpose
	p := &pebble{}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := p.handler.Load()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders.Add(1)
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// validate sets the authority up to check every domain by TLS-ALPN-01 on
// port tlsPort of 127.0.0.1: a DNS server of the test's own resolves
// every name there.
func (p *pebble) validate(t *testing.T, tlsPort int) {
	t.Helper()
	logger := log.New(io.Discard, "", 0)
	mem := db.NewMemoryStore()
	authority := ca.New(logger, mem, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, 0, tlsPort, false, startDNS(t), mem)
	front := wfe.New(logger, mem, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	h := front.Handler()
	p.handler.Store(&h)
}

// startDNS serves DNS over TCP on a loopback port, answering every A
// question with 127.0.0.1 and every other with nothing, and returns its
// address.
func startDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// handshake connects to addr as a browser asking for name would, and
// returns the certificate chain the server presents.
func handshake(t *testing.T, addr, name string) []*x509.Certificate {
	t.Helper()
	d := &tls.Dialer{Config: &tls.Config{ServerName: name, InsecureSkipVerify: true, NextProtos: []string{"h2"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("TLS handshake for %s: %v", name, err)
	}
	defer c.Close()
	cs := c.(*tls.Conn).ConnectionState()
	if cs.NegotiatedProtocol != "h2" {
		t.Errorf("negotiated %q; want h2", cs.NegotiatedProtocol)
	}
	return cs.PeerCertificates
}

// TestACME gets a certificate from a test authority on the first handshake
// for the domain, the authority checking the domain by TLS-ALPN-01 on
// Parley's listener, keeps it in the database, and serves it again from
// there after a restart, with the authority gone.
func TestACME(t *testing.T) {
	const name = "chat.parley.test"
	p := startPebble(t)
	dir := t.TempDir()
	o, err := parseOptions(serverArgs(dir, "-acme-domain", name, "-acme-directory", p.srv.URL+wfe.DirectoryPath), noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.acmeHTTPClient = p.srv.Client() // trusts the authority's test certificate
	start := func(ctx context.Context, stdout io.Writer) error { return serve(ctx, o, stdout, io.Discard) }

	base, stop := runServer(t, start)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("listening on %s; want https://", base)
	}
	addr := strings.TrimPrefix(base, "https://")
	_, port, _ := net.SplitHostPort(addr)
	tlsPort, _ := strconv.Atoi(port)
	// The authority checks the domain by TLS-ALPN-01 on Parley's listener.
	p.validate(t, tlsPort)
	chain := handshake(t, addr, name)
	leaf := chain[0]
	if err := leaf.VerifyHostname(name); err != nil {
		t.Fatal(err)
	}
	if len(chain) < 2 || !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate CA") ||
		leaf.CheckSignatureFrom(chain[1]) != nil {
		t.Fatalf("certificate issued by %q; want the test authority's", leaf.Issuer.CommonName)
	}
	if n := p.orders.Load(); n != 1 {
		t.Fatalf("%d orders; want 1", n)
	}
	// Another name gets no certificate.
	d := &tls.Dialer{Config: &tls.Config{ServerName: "other.parley.test", InsecureSkipVerify: true}}
	if c, err := d.DialContext(context.Background(), "tcp", addr); err == nil {
		c.Close()
		t.Error("a handshake for another name succeeded")
	}
	stop()

	// The certificate is in the database.
	st, err := store.Open(context.Background(), o.db)
	if err != nil {
		t.Fatal(err)
	}
	data, err := st.ACMECache().Get(context.Background(), name)
	st.Close()
	if err != nil || !strings.Contains(string(data), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))) {
		t.Fatalf("the database's cache holds %d bytes for %s (%v); want the certificate served", len(data), name, err)
	}

	// Restarted on the same database with the authority gone, the server
	// serves the same certificate.
	p.srv.Close()
	base, _ = runServer(t, start)
	again := handshake(t, strings.TrimPrefix(base, "https://"), name)[0]
	if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("after a restart the serial is %s; want %s, from the database", again.SerialNumber, leaf.SerialNumber)
	}
}
