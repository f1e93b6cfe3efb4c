package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rivo/uniseg"
)

func mustRoom(t *testing.T, s *Store, name string) Room {
	t.Helper()
	r, err := s.Room(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChanges(t *testing.T) {
	ctx := context.Background()

	t.Run("OneSequence", func(t *testing.T) {
		s := mustOpenStore(t)
		published := recordPublished(s)
		ann := mustCreateUser(t, s, "ann")
		bob := mustCreateUser(t, s, "bob")
		g := mustRoom(t, s, GeneralRoom)
		m1 := mustPost(t, s, GeneralRoom, ann, "hello wrold")
		e, err := s.EditMessage(ctx, Edit{Room: g, ID: m1.ID, UserID: ann.ID, Body: "hello world"})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != m1.ID || e.ChangeID <= m1.ID || !e.Edited() || e.Body != "hello world" {
			t.Errorf("edit = %+v; want id %d, a later change id, edited", e, m1.ID)
		}
		m2 := mustPost(t, s, GeneralRoom, bob, "hi")
		if m2.ID <= e.ChangeID {
			t.Errorf("message id %d after change %d; want it above", m2.ID, e.ChangeID)
		}
		r, err := s.ToggleReaction(ctx, g, m1.ID, bob.ID, "👍🏽")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Reactions) != 1 || r.Reactions[0].Emoji != "👍🏽" || len(r.Reactions[0].Handles) != 1 {
			t.Errorf("reactions = %+v; want bob's 👍🏽", r.Reactions)
		}
		var ids []int64
		for _, p := range published() {
			ids = append(ids, p.EventID())
		}
		want := []int64{m1.ID, e.ChangeID, m2.ID, r.ChangeID}
		if !equalIDs(ids, want) {
			t.Errorf("published %v; want %v", ids, want)
		}
		events, err := s.EventsAfter(ctx, GeneralRoom, m1.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, ev := range events {
			ids = append(ids, ev.EventID())
		}
		// m1's two changes come once, as its latest.
		if want := []int64{m2.ID, r.ChangeID}; !equalIDs(ids, want) {
			t.Errorf("events after %d = %v; want %v", m1.ID, ids, want)
		}
		if r2, _ := s.ToggleReaction(ctx, g, m1.ID, bob.ID, "👍🏽"); len(r2.Reactions) != 0 {
			t.Errorf("second reaction left %+v; want none", r2.Reactions)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		s := mustOpenStore(t)
		ann := mustCreateUser(t, s, "ann")
		bob := mustCreateUser(t, s, "bob")
		g := mustRoom(t, s, GeneralRoom)
		m := mustPost(t, s, GeneralRoom, ann, "mine")
		notice, err := s.CreateMessage(ctx, Message{Room: GeneralRoom, UserID: bob.ID, Kind: KindJoin, Author: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.EditMessage(ctx, Edit{Room: g, ID: m.ID, UserID: bob.ID, Body: "theirs"}); !errors.Is(err, ErrNotAuthor) {
			t.Errorf("edit by another: %v; want ErrNotAuthor", err)
		}
		if _, err := s.DeleteMessage(ctx, g, m.ID, bob.ID); !errors.Is(err, ErrNotAuthor) {
			t.Errorf("delete by another: %v; want ErrNotAuthor", err)
		}
		if _, err := s.DeleteMessage(ctx, g, notice.ID, bob.ID); !errors.Is(err, ErrNotice) {
			t.Errorf("delete a notice: %v; want ErrNotice", err)
		}
		if _, err := s.EditMessage(ctx, Edit{Room: g, ID: m.ID + 100, UserID: ann.ID, Body: "x"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("edit a missing id: %v; want ErrNotFound", err)
		}
		got, _ := s.Message(ctx, g, m.ID)
		if got.Body != "mine" || got.Edited() {
			t.Errorf("message after refusals = %+v; want unchanged", got)
		}
	})

	t.Run("DeletedEverywhere", func(t *testing.T) {
		path := testDB(t)
		s := mustOpenStoreAt(t, path)
		ann := mustCreateUser(t, s, "ann")
		bob := mustCreateUser(t, s, "bob")
		g := mustRoom(t, s, GeneralRoom)
		const secret = "zanzibarquokka launchcode @bob"
		m, err := s.CreateMessage(ctx, Message{Room: GeneralRoom, UserID: ann.ID, Author: "ann", Body: secret,
			Mentions: []string{"bob"}, MentionIDs: []int64{bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		mustPost(t, s, GeneralRoom, bob, "the other words stay")
		if _, err := s.ToggleReaction(ctx, g, m.ID, bob.ID, "🎉"); err != nil {
			t.Fatal(err)
		}
		d, err := s.DeleteMessage(ctx, g, m.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Deleted() || d.Body != "" || d.Author != "" || len(d.Reactions) != 0 {
			t.Errorf("deleted = %+v; want a tombstone", d)
		}
		if again, err := s.DeleteMessage(ctx, g, m.ID, ann.ID); err != nil || again.ChangeID != 0 {
			t.Errorf("deleting again = %+v, %v; want no change", again, err)
		}
		if ids := searchIDs(t, s, SearchQuery{UserID: ann.ID, Text: "zanzibarquokka"}); len(ids) != 0 {
			t.Errorf("search finds %v; want nothing", ids)
		}
		if ms, _ := s.MentionsOf(ctx, bob.ID, 50); len(ms) != 0 {
			t.Errorf("bob's mentions = %+v; want none", ms)
		}
		checkIndex(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if onPostgres() {
			return // the bytes of the files are SQLite's to check
		}
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			for _, word := range []string{"zanzibarquokka", "launchcode"} {
				if bytes.Contains(b, []byte(word)) {
					t.Errorf("%s still holds %q", filepath.Base(f), word)
				}
			}
			if !bytes.Contains(b, []byte("the other words stay")) && f == path {
				t.Errorf("%s lacks the message that was not deleted: the search is blind", filepath.Base(f))
			}
		}
	})
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidateEmoji(t *testing.T) {
	for _, e := range []string{"👍", "👍🏽", "🇫🇷", "👩‍👩‍👧‍👦", "❤️", "🏳️‍🌈", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🎉", "🧑🏿‍💻", "😀"} {
		if err := ValidateEmoji(e); err != nil {
			t.Errorf("ValidateEmoji(%q) = %v; want nil", e, err)
		}
	}
	for _, e := range []string{"", "a", "ab", "👍👍", "🇫", "1", "❤", "©", "中", "🏽", " 👍", "👍 ", "\u200d", "\xff"} {
		if err := ValidateEmoji(e); err == nil {
			t.Errorf("ValidateEmoji(%q) = nil; want an error", e)
		}
	}
}

func FuzzValidateEmoji(f *testing.F) {
	for _, e := range []string{"👍", "👍🏽", "🇫🇷", "👩‍👩‍👧‍👦", "❤️", "a", "👍👍", "1️⃣"} {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, e string) {
		if ValidateEmoji(e) != nil {
			return
		}
		// An accepted emoji is one valid, bounded grapheme cluster.
		if len(e) > EmojiMaxLen {
			t.Errorf("accepted %d bytes", len(e))
		}
		if n := graphemes(e); n != 1 {
			t.Errorf("accepted %q of %d clusters", e, n)
		}
	})
}

func graphemes(s string) int { return uniseg.GraphemeClusterCount(s) }
