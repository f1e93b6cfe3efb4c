package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestListenDebug(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		t.Run("Refuse "+addr, func(t *testing.T) {
			ln, err := listenDebug(addr)
			if err == nil {
				ln.Close()
				t.Fatalf("listenDebug(%q) = nil error; want refusal", addr)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		ln, err := listenDebug("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go http.Serve(ln, debugHandler())
		res, err := http.Get("http://" + ln.Addr().String() + "/debug/vars")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"memstats"`) {
			t.Errorf("GET /debug/vars: Status = %d, body %.80q; want 200 with memstats", res.StatusCode, body)
		}
	})
}
