package store

import (
	"context"
	"database/sql"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// EmojiMaxLen bounds the bytes of one reaction emoji. The longest emoji
// sequences (families, tag flags) take about 35.
const EmojiMaxLen = 64

// ValidateEmoji checks that e is a single emoji: one extended grapheme
// cluster (so a skin tone, a flag, a keycap or a ZWJ sequence counts as
// one) that is an emoji: a pair of regional indicators (a flag), a keycap
// sequence, or a cluster that starts with an Extended_Pictographic
// character shown as an emoji (by default, or asked for with U+FE0F).
// Segmentation and the character properties come from uniseg.
func ValidateEmoji(e string) error {
	bad := &FieldError{"emoji", "Choose one emoji."}
	if e == "" || len(e) > EmojiMaxLen || !utf8.ValidString(e) {
		return bad
	}
	cluster, rest, width, _ := uniseg.FirstGraphemeClusterInString(e, -1)
	if rest != "" {
		return bad
	}
	runes := []rune(cluster)
	first := runes[0]
	switch {
	case isRegionalIndicator(first):
		if len(runes) == 2 && isRegionalIndicator(runes[1]) {
			return nil
		}
	case isKeycapBase(first):
		if len(runes) == 3 && runes[1] == 0xFE0F && runes[2] == 0x20E3 {
			return nil
		}
	case extendedPictographic(first):
		// A text-style pictograph (©, ❤ without U+FE0F) is one cell wide.
		if width == 2 {
			return nil
		}
	}
	return bad
}

// isRegionalIndicator reports whether r is one of the 26 regional
// indicator letters, two of which make a flag.
func isRegionalIndicator(r rune) bool { return 0x1F1E6 <= r && r <= 0x1F1FF }

// isKeycapBase reports whether r may start a keycap sequence (#️⃣, 1️⃣).
func isKeycapBase(r rune) bool { return '0' <= r && r <= '9' || r == '#' || r == '*' }

// extendedPictographic reports whether r has Unicode's
// Extended_Pictographic property, asked of uniseg through the grapheme
// rule that only such a character joins a zero width joiner sequence
// (GB11): after ❤ and ZWJ it stays in the cluster, after a letter and ZWJ
// it does not (a combining mark would stay in both).
func extendedPictographic(r rune) bool {
	tail := "\u200d" + string(r)
	return uniseg.GraphemeClusterCount("\u2764"+tail) == 1 && uniseg.GraphemeClusterCount("a"+tail) == 2
}

// ToggleReaction adds userID's reaction with emoji to message id of room,
// or removes it when they had reacted so, and returns the message as it
// now is. It answers ErrNotFound for an id that is not a message of the
// room (or a deleted one) and ErrNotice for a notice.
func (s *Store) ToggleReaction(ctx context.Context, room Room, id, userID int64, emoji string) (Message, error) {
	if err := ValidateEmoji(emoji); err != nil {
		return Message{}, err
	}
	now := s.now()
	return s.change(ctx, "react", room, id, func(tx *sql.Tx, m Message) (string, error) {
		switch {
		case m.Deleted():
			return "", ErrNotFound
		case m.System():
			return "", ErrNotice
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3`,
			m.ID, userID, emoji)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil {
			return "", err
		} else if n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)`,
				m.ID, userID, emoji, now); err != nil {
				return "", err
			}
		}
		return ChangeReact, nil
	})
}
