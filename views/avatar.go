package views

import (
	"hash/fnv"
	"strings"
	"unicode/utf8"
)

// hueBits: the stylesheet has 1<<hueBits avatar colours (.hue-0 …).
const hueBits = 3

// hue picks a handle's avatar colour. It ignores case, as handles do, so a
// person keeps their colour when only the case of their handle changes.
// Fibonacci hashing spreads similar handles over the colours.
func hue(handle string) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(handle)))
	return int((h.Sum32() * 2654435761) >> (32 - hueBits))
}

// initial is the letter an avatar shows.
func initial(handle string) string {
	r, _ := utf8.DecodeRuneInString(handle)
	if r == utf8.RuneError {
		return "?"
	}
	return strings.ToUpper(string(r))
}
