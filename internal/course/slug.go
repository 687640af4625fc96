package course

import (
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/gosimple/unidecode"
	"golang.org/x/text/unicode/norm"
)

var (
	slugEntity        = regexp.MustCompile(`&([A-Za-z][A-Za-z0-9]*);`)
	slugDecimal       = regexp.MustCompile(`&#([0-9]+);`)
	slugHex           = regexp.MustCompile(`&#x([0-9a-fA-F]+);`)
	slugNumberComma   = regexp.MustCompile(`([0-9]),([0-9])`)
	slugDisallowed    = regexp.MustCompile(`[^-a-z0-9]+`)
	slugRepeatedDash  = regexp.MustCompile(`-{2,}`)
	slugApostropheRun = regexp.MustCompile(`'+`)
)

// Slugify turns a title into the ASCII file name stem that LibreLingo's
// exporter uses (python-slugify's defaults): apostrophes split words, other
// letters are transliterated to ASCII, everything is lowercased and runs of
// other characters become single dashes. "Ser/Estar" gives "ser-estar".
func Slugify(title string) string {
	s := slugApostropheRun.ReplaceAllString(title, "-")
	s = unidecode.Unidecode(norm.NFKD.String(s))
	s = slugEntity.ReplaceAllStringFunc(s, func(m string) string {
		if u := html.UnescapeString(m); u != m {
			return u
		}
		return m
	})
	s = slugDecimal.ReplaceAllStringFunc(s, func(m string) string {
		return numericReference(m, slugDecimal, 10)
	})
	s = slugHex.ReplaceAllStringFunc(s, func(m string) string {
		return numericReference(m, slugHex, 16)
	})
	s = strings.ToLower(norm.NFKD.String(s))
	s = strings.ReplaceAll(s, "'", "")
	// Commas between digits vanish, so "1,000" gives "1000".
	for {
		t := slugNumberComma.ReplaceAllString(s, "$1$2")
		if t == s {
			break
		}
		s = t
	}
	s = slugDisallowed.ReplaceAllString(s, "-")
	s = slugRepeatedDash.ReplaceAllString(s, "-")
	return strings.Trim(s, "-")
}

func numericReference(m string, re *regexp.Regexp, base int) string {
	digits := re.FindStringSubmatch(m)[1]
	v, err := strconv.ParseInt(digits, base, 32)
	if err != nil || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) {
		return m
	}
	return string(rune(v))
}
