package main

import (
	"io"
	"testing"
	"time"
)

// -presence-expiry defaults to 20 s, takes PARLEY_PRESENCE_EXPIRY, and
// refuses less than a second.
func TestPresenceExpiryOption(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if o, err := parseOptions(nil, env(nil), io.Discard); err != nil || o.presenceExpiry != 20*time.Second {
		t.Errorf("default: %v, %v; want 20s", o.presenceExpiry, err)
	}
	if o, err := parseOptions(nil, env(map[string]string{"PARLEY_PRESENCE_EXPIRY": "4s"}), io.Discard); err != nil || o.presenceExpiry != 4*time.Second {
		t.Errorf("from the environment: %v, %v; want 4s", o.presenceExpiry, err)
	}
	for _, v := range []string{"0s", "500ms", "-1s"} {
		if _, err := parseOptions([]string{"-presence-expiry", v}, env(nil), io.Discard); err == nil {
			t.Errorf("-presence-expiry %s accepted; want an error", v)
		}
	}
}
