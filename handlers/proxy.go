package handlers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseProxies reads a comma-separated list of proxy addresses, each a
// CIDR block (10.0.0.0/8, fd00::/8) or a bare address, which stands for
// itself alone (/32 or /128). Empty items are skipped.
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(item)
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR block such as 10.0.0.0/8", item)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// proxies are the addresses whose X-Forwarded-For is believed.
type proxies []netip.Prefix

func (p proxies) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, pre := range p {
		if pre.Contains(ip) {
			return true
		}
	}
	return false
}

// client returns the address a request came from, without the port. From
// a trusted proxy, that is the right-most address of X-Forwarded-For (all
// its headers in order) that is not itself a trusted proxy; if they all
// are, the left-most. An entry that is no address ends the walk at the
// last good one, so a client cannot hide behind garbage.
func (p proxies) client(r *http.Request) string {
	peer := host(r.RemoteAddr)
	if len(p) == 0 {
		return peer
	}
	ip, err := netip.ParseAddr(peer)
	if err != nil || !p.trusted(ip) {
		return peer
	}
	// client is the last good address on the walk from the right; the
	// peer itself until a header entry is read.
	client, fromHeader := ip, false
	hdr := r.Header.Values("X-Forwarded-For")
	for i := len(hdr) - 1; i >= 0; i-- {
		rest := hdr[i]
		for {
			j := strings.LastIndexByte(rest, ',')
			a, ok := parseForwarded(rest[j+1:])
			if !ok {
				return addrString(client, fromHeader, peer)
			}
			client, fromHeader = a, true
			if !p.trusted(a) {
				return a.String()
			}
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return addrString(client, fromHeader, peer)
}

// addrString is the text of a client address, reusing the peer's text
// when the address is the peer's.
func addrString(a netip.Addr, fromHeader bool, peer string) string {
	if !fromHeader {
		return peer
	}
	return a.String()
}

// parseForwarded reads one X-Forwarded-For entry: an address, possibly
// with a port as some proxies add ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseForwarded(item string) (netip.Addr, bool) {
	item = strings.TrimSpace(item)
	if a, err := netip.ParseAddr(item); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(item); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// host is addr without its port.
func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// clientCtx is the request's context carrying its client address, set
// once by the outermost middleware.
type clientCtx struct {
	context.Context
	addr string
}

// Value answers clientKey itself and asks the parent for anything else.
func (c *clientCtx) Value(key any) any {
	if key == clientKey {
		return c
	}
	return c.Context.Value(key)
}

// clientAddr is the address the request came from, without the port: the
// one the request log settled behind trusted proxies (see proxies.client),
// else the peer's.
func clientAddr(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey).(*clientCtx); ok {
		return c.addr
	}
	return host(r.RemoteAddr)
}
