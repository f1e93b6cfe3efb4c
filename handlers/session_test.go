package handlers

import (
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestSessionCodec(t *testing.T) {
	deadline := time.Date(2026, 12, 1, 10, 0, 0, 123, time.UTC)
	values := map[string]any{"uid": int64(42), "flash": "You have signed out.", "__rememberMe": true}
	b, err := sessionCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := sessionCodec{}.Decode(b)
	if err != nil || !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, values) {
		t.Fatalf("Decode = %v, %v, %v; want %v, %v", gotDeadline, got, err, deadline, values)
	}
	if _, err := (sessionCodec{}).Encode(deadline, map[string]any{"x": 1.5}); err == nil {
		t.Error("Encode of a float succeeded; want an error")
	}

	t.Run("Gob", func(t *testing.T) {
		old, err := scs.GobCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := (sessionCodec{}).Decode(old); err != nil || !reflect.DeepEqual(got, values) {
			t.Errorf("Decode of gob data = %v, %v", got, err)
		}
	})

	t.Run("Malformed", func(t *testing.T) {
		for i := 1; i < len(b); i++ {
			sessionCodec{}.Decode(b[:i]) // must not panic
		}
		if _, _, err := (sessionCodec{}).Decode([]byte{codecVersion, 0, 200}); err == nil {
			t.Error("Decode of a count past the data succeeded")
		}
	})
}

func FuzzSessionCodec(f *testing.F) {
	b, _ := sessionCodec{}.Encode(time.Unix(0, 0), map[string]any{"uid": int64(1), "s": "x"})
	f.Add(b)
	f.Add([]byte{codecVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0] != codecVersion {
			return // gob's own decoder
		}
		deadline, values, err := sessionCodec{}.Decode(data)
		if err != nil {
			return
		}
		again, err := sessionCodec{}.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		d2, v2, err := sessionCodec{}.Decode(again)
		if err != nil || !d2.Equal(deadline) || !reflect.DeepEqual(v2, values) {
			t.Fatalf("round trip changed the data: %v %v %v", d2, v2, err)
		}
	})
}
