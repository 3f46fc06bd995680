package main

import "strings"

// shellQuote returns s as one word of a POSIX shell command line: as it is
// when no character in it is special to the shell, else in single quotes,
// where each single quote in it ends the quoted part, is escaped with a
// backslash and opens a new one.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin returns words as a command line a POSIX shell splits back into
// exactly those words.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}
