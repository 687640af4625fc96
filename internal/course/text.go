package course

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The functions in this file reproduce the text handling of LibreLingo's
// Python tools character for character, because challenge ids, chips and
// dictionary look-ups depend on it. Python's str methods and its re module
// are Unicode-aware where Go's counterparts are not, so each is written out.

// isWordRune reports whether Python's re module matches r with \w in a str
// pattern: letters, numbers and the underscore.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// isSpace reports whether Python's str.isspace is true for r.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Fields splits s around runs of whitespace, as Python's str.split() does.
func Fields(s string) []string { return strings.FieldsFunc(s, isSpace) }

// CleanWord removes punctuation and other characters that are neither word
// characters nor apostrophes from both ends of word, as LibreLingo's
// clean_word does: "¿Están" becomes "Están" and "carta?" becomes "carta".
func CleanWord(word string) string {
	return strings.TrimFunc(word, func(r rune) bool { return r != '\'' && !isWordRune(r) })
}

// termSeparator matches what LibreLingo's get_words_from_phrase splits on:
// a space, a {grouped term} or a 'quoted' stretch. Go's leftmost-first
// alternation and lazy repetition behave as Python's here.
var termSeparator = regexp.MustCompile(`( |\{.*?\}|'.*?')`)

// Terms splits a phrase into the words and {multi word} terms that the
// dictionary defines, as LibreLingo's get_words_from_phrase does. Braces
// group words into one term; punctuation stays attached to its word.
func Terms(phrase string) []string {
	var out []string
	add := func(piece string) {
		if piece = strings.Trim(piece, " {}"); piece != "" {
			out = append(out, piece)
		}
	}
	last := 0
	for _, m := range termSeparator.FindAllStringIndex(phrase, -1) {
		add(phrase[last:m[0]])
		add(phrase[m[0]:m[1]])
		last = m[1]
	}
	add(phrase[last:])
	return out
}

var braceRemover = strings.NewReplacer("{", "", "}", "")

// Display removes the braces that group {multi word} terms, giving the text
// as learners see it.
func Display(s string) string { return braceRemover.Replace(s) }

// Lower lowercases s as Python's str.lower does, which differs from
// strings.ToLower for U+0130 and for a word-final capital sigma.
func Lower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	runes := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range runes {
		switch {
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ' && finalSigma(runes, i):
			b.WriteRune('ς')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports whether the capital sigma at runes[i] ends a word, by
// Unicode's Final_Sigma condition.
func finalSigma(runes []rune, i int) bool {
	before := false
	for j := i - 1; j >= 0; j-- {
		if caseIgnorable(runes[j]) {
			continue
		}
		before = cased(runes[j])
		break
	}
	if !before {
		return false
	}
	for j := i + 1; j < len(runes); j++ {
		if caseIgnorable(runes[j]) {
			continue
		}
		return !cased(runes[j])
	}
	return true
}

func cased(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', '\u00ad', '\u2018', '\u2019', '\u2024', '\ufe52', '\uff07', '\uff0e':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// pyRepr formats s as Python's repr does for a str.
func pyRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			writeHexEscape(&b, 'x', r, 2)
		case r < 0x7f:
			b.WriteRune(r)
		case unicode.IsPrint(r):
			// Python's str.isprintable and Go's unicode.IsPrint agree: both
			// exclude the categories C* and Z* except the ASCII space.
			b.WriteRune(r)
		case r <= 0xff:
			writeHexEscape(&b, 'x', r, 2)
		case r <= 0xffff:
			writeHexEscape(&b, 'u', r, 4)
		default:
			writeHexEscape(&b, 'U', r, 8)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

func writeHexEscape(b *strings.Builder, kind byte, r rune, digits int) {
	const hexdigits = "0123456789abcdef"
	b.WriteByte('\\')
	b.WriteByte(kind)
	for i := digits - 1; i >= 0; i-- {
		b.WriteByte(hexdigits[(r>>(4*i))&0xf])
	}
}

// pyReprList formats a list of strings as Python's repr does; nil is None.
func pyReprList(list []string) string {
	if list == nil {
		return "None"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyRepr(s))
	}
	b.WriteByte(']')
	return b.String()
}

// opaqueID is LibreLingo's get_dumb_opaque_id: the first 12 hex digits of the
// SHA-256 of name, the item as Python prints it, and a salt.
func opaqueID(name, item, salt string) string {
	sum := sha256.Sum256([]byte(name + item + salt))
	return hex.EncodeToString(sum[:6])
}

// AudioID returns the name LibreLingo gives the audio file of text in a
// language: the SHA-256 of the lowercased language name, "|" and the text.
func AudioID(language Language, text string) string {
	sum := sha256.Sum256([]byte(Lower(language.Name) + "|" + text))
	return hex.EncodeToString(sum[:])
}

// Levels returns LibreLingo's number of levels for a skill with the given
// numbers of new words and phrases: round(1 + words/7 + phrases/5), rounding
// halves to even as Python's round does.
func Levels(words, phrases int) int {
	return int(math.RoundToEven(1 + float64(words)/7 + float64(phrases)/5))
}

// editDistance returns the Levenshtein distance between a and b, counted in
// code points. It stops early and returns a value above limit once the
// distance is known to exceed limit; a negative limit means no limit.
func editDistance(a, b []rune, limit int) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	return levenshtein(a, b, limit, make([]int, len(b)+1))
}

// levenshtein is editDistance for len(a) >= len(b), with a scratch row of
// len(b)+1 ints.
func levenshtein(a, b []rune, limit int, row []int) int {
	if limit >= 0 && len(a)-len(b) > limit {
		return limit + 1
	}
	if len(b) == 0 {
		return len(a)
	}
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		best := row[0]
		for j := 1; j <= len(b); j++ {
			up := row[j]
			cost := diag
			if a[i-1] != b[j-1] {
				cost = 1 + min(diag, up, row[j-1])
			}
			row[j] = cost
			diag = up
			best = min(best, cost)
		}
		if limit >= 0 && best > limit {
			return limit + 1
		}
	}
	return row[len(b)]
}
