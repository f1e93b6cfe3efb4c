package views

import "strconv"

// Online is a room's online list: the names it shows and how many more
// people are online besides them.
type Online struct {
	Names  []string
	Others int
}

// othersText says how many people the list does not name.
func othersText(n int) string {
	if n == 1 {
		return "and 1 other"
	}
	return "and " + groupThousands(n) + " others"
}

// groupThousands writes n with a thin space between groups of three
// digits, as in "10 000".
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	if len(s) <= 4 {
		return s
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, "\u202f"...)
		}
		b = append(b, s[i])
	}
	return string(b)
}
