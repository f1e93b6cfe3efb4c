package store

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The contract's rules, written a second way.
var handleRule = regexp.MustCompile(`^[A-Za-z0-9_.-]{2,32}$`)

func FuzzValidateHandle(f *testing.F) {
	for _, s := range []string{"ab", "a", "Ann", "ann smith", "änn", strings.Repeat("x", 33), "a.b-c_D", "a\x00b", "ab\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		err := ValidateHandle(h)
		if want := handleRule.MatchString(h); (err == nil) != want {
			t.Fatalf("ValidateHandle(%q) = %v; the rule says valid=%v", h, err, want)
		}
		if err != nil && err.(*FieldError).Message == "" {
			t.Fatal("an error without a message for the person")
		}
		if err == nil && HandleKey(h) != strings.ToLower(h) {
			t.Fatal("HandleKey is not the lower-case handle")
		}
	})
}

func FuzzValidatePassword(f *testing.F) {
	for _, s := range []string{"", "1234567", "12345678", strings.Repeat("p", 256), strings.Repeat("p", 257), "пароль12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := ValidatePassword(p)
		if want := len(p) >= 8 && len(p) <= 256; (err == nil) != want {
			t.Fatalf("ValidatePassword(%d bytes) = %v; want valid=%v", len(p), err, want)
		}
	})
}

func FuzzValidateBody(f *testing.F) {
	for _, s := range []string{"", " ", "hi", " \r\n hi \t", strings.Repeat("é", 4000), strings.Repeat("é", 4001), "\xff", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		body := NormalizeBody(raw)
		err := ValidateBody(body)
		n := utf8.RuneCountInString(body)
		want := utf8.ValidString(body) && n >= 1 && n <= BodyMaxLen
		if (err == nil) != want {
			t.Fatalf("ValidateBody(%q) = %v; want valid=%v", body, err, want)
		}
		if body != strings.TrimSpace(body) {
			t.Fatal("NormalizeBody left surrounding space")
		}
	})
}

var clientIDRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func FuzzValidateClientID(f *testing.F) {
	for _, s := range []string{"", "a", "Zx_-09", "has space", "a.b", "é", "a\x00", strings.Repeat("k", 64), strings.Repeat("k", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateClientID(id)
		if want := clientIDRule.MatchString(id); (err == nil) != want {
			t.Fatalf("ValidateClientID(%q) = %v; the rule says valid=%v", id, err, want)
		}
		if err != nil && err.(*FieldError).Message == "" {
			t.Fatal("an error without a message for the person")
		}
	})
}
