package handlers

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"
)

func TestParseProxies(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  bool
	}{
		{name: "Empty", in: ""},
		{name: "CIDRs", in: "10.0.0.0/8, fd00::/8", want: []string{"10.0.0.0/8", "fd00::/8"}},
		{name: "BareAddresses", in: "192.0.2.1,2001:db8::1", want: []string{"192.0.2.1/32", "2001:db8::1/128"}},
		{name: "MappedAddress", in: "::ffff:192.0.2.1", want: []string{"192.0.2.1/32"}},
		{name: "HostBitsMasked", in: "192.0.2.77/24", want: []string{"192.0.2.0/24"}},
		{name: "EmptyItemsSkipped", in: ",127.0.0.1,,", want: []string{"127.0.0.1/32"}},
		{name: "BadPrefixLength", in: "10.0.0.0/33", wantErr: true},
		{name: "Name", in: "127.0.0.1,proxy.example", wantErr: true},
		{name: "Zone", in: "fe80::1%eth0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProxies(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseProxies(%q) error = %v; want error %v", tt.in, err, tt.wantErr)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("ParseProxies(%q) = %v; want %v", tt.in, s, tt.want)
			}
		})
	}
}

// TestProxiesClient is the right-most-untrusted rule, with the proxies
// 10.0.0.0/8 and 2001:db8::1 trusted.
func TestProxiesClient(t *testing.T) {
	trusted := proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/128")}
	tests := []struct {
		name   string
		peer   string
		xff    []string // one X-Forwarded-For header each
		config proxies
		want   string
	}{
		{name: "NoProxiesConfigured", peer: "10.1.1.1:4000", xff: []string{"203.0.113.9"}, want: "10.1.1.1"},
		{name: "UntrustedPeer", peer: "192.0.2.5:4000", xff: []string{"203.0.113.9"}, config: trusted, want: "192.0.2.5"},
		{name: "TrustedPeerNoHeader", peer: "10.1.1.1:4000", config: trusted, want: "10.1.1.1"},
		{name: "OneHop", peer: "10.1.1.1:4000", xff: []string{"203.0.113.9"}, config: trusted, want: "203.0.113.9"},
		{name: "SpoofedLeftIgnored", peer: "10.1.1.1:4000", xff: []string{"198.51.100.1, 203.0.113.9"}, config: trusted, want: "203.0.113.9"},
		{name: "TrustedHopsSkipped", peer: "10.1.1.1:4000", xff: []string{"198.51.100.1, 203.0.113.9, 10.2.2.2 ,10.3.3.3"}, config: trusted, want: "203.0.113.9"},
		{name: "AllTrustedLeftMost", peer: "10.1.1.1:4000", xff: []string{"10.4.4.4, 10.2.2.2"}, config: trusted, want: "10.4.4.4"},
		{name: "HeadersConcatenated", peer: "10.1.1.1:4000", xff: []string{"198.51.100.1", "203.0.113.9, 10.2.2.2", "10.3.3.3"}, config: trusted, want: "203.0.113.9"},
		{name: "HeadersConcatenatedAllTrusted", peer: "10.1.1.1:4000", xff: []string{"10.9.9.9", "10.2.2.2"}, config: trusted, want: "10.9.9.9"},
		{name: "GarbageStopsAtPeer", peer: "10.1.1.1:4000", xff: []string{"203.0.113.9, banana"}, config: trusted, want: "10.1.1.1"},
		{name: "GarbageStopsAtLastGood", peer: "10.1.1.1:4000", xff: []string{"unknown, 10.2.2.2"}, config: trusted, want: "10.2.2.2"},
		{name: "EmptyEntryIsGarbage", peer: "10.1.1.1:4000", xff: []string{"203.0.113.9,,10.2.2.2"}, config: trusted, want: "10.2.2.2"},
		{name: "EmptyHeader", peer: "10.1.1.1:4000", xff: []string{""}, config: trusted, want: "10.1.1.1"},
		{name: "WithPort", peer: "10.1.1.1:4000", xff: []string{"203.0.113.9:5555"}, config: trusted, want: "203.0.113.9"},
		{name: "IPv6", peer: "[2001:db8::1]:4000", xff: []string{"2001:db8:1::7, 10.2.2.2"}, config: trusted, want: "2001:db8:1::7"},
		{name: "IPv6WithPort", peer: "[2001:db8::1]:4000", xff: []string{"[2001:db8:1::7]:80"}, config: trusted, want: "2001:db8:1::7"},
		{name: "MappedPeerAndEntry", peer: "[::ffff:10.1.1.1]:4000", xff: []string{"::ffff:203.0.113.9"}, config: trusted, want: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.config.client(r); got != tt.want {
				t.Errorf("client = %q; want %q", got, tt.want)
			}
		})
	}
}
