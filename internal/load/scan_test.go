package load

import (
	"reflect"
	"testing"
	"time"
)

func TestScanner(t *testing.T) {
	tag := Tag(3, 17, 1234567890)
	stream := ": parley\nretry: 1000\n\n" +
		"event: presence\ndata: <ul class=\"online\"><li>ann</li></ul>\n\n" +
		"id: 41\nevent: message\ndata: <li id=\"msg-41\" class=\"message system join\">\ndata: ann joined</li>\n\n" +
		": heartbeat\n\n" +
		"id: 42\r\nevent: message\r\ndata: <li id=\"msg-42\"><span class=\"body\">" + tag + " hello</span></li>\r\n\r\n"
	want := []message{
		{id: 41},
		{id: 42, tagged: true, wave: 3, seq: 17, sentNS: 1234567890},
	}
	// Every way of cutting the stream into two reads gives the same events.
	for cut := range len(stream) + 1 {
		var sc scanner
		var got []message
		emit := func(m message) { got = append(got, m) }
		sc.feed([]byte(stream[:cut]), emit)
		sc.feed([]byte(stream[cut:]), emit)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d: got %+v; want %+v", cut, got, want)
		}
	}
}

func TestParseTag(t *testing.T) {
	for _, tt := range []struct {
		in   string
		ok   bool
		wave int
	}{
		{"1-2-3 rest", true, 1},
		{"1-2-", false, 0},
		{"x-2-3", false, 0},
		{"12-", false, 0},
	} {
		t.Run(tt.in, func(t *testing.T) {
			wave, _, _, ok := parseTag([]byte(tt.in))
			if ok != tt.ok || wave != tt.wave {
				t.Errorf("parseTag(%q) = wave %d, ok %v; want %d, %v", tt.in, wave, ok, tt.wave, tt.ok)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := Summarise(d)
	want := Latencies{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("summarise = %+v; want %+v", got, want)
	}
}
