package ffmpeg

import "strings"

// Quote returns argv as one line a POSIX shell reads back as the same
// words: each word that holds anything but letters, digits and -_./:=,+@%
// is put in single quotes, where a single quote of its own closes them, is
// escaped with a backslash and opens them again. A line break in a word
// stays inside its quotes.
func Quote(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = quoteWord(a)
	}
	return strings.Join(words, " ")
}

func quoteWord(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, needsQuote) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./:=,+@%", r)
}
