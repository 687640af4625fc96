package librelingo

import (
	"regexp"
	"strings"
)

var (
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlTag     = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<![A-Za-z][^<>]*>|<\?[^<>]*\?>`)
	autolink    = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9+.-]*):[^<>\s]*>`)
	inlineLink  = regexp.MustCompile(`\]\((\s*<?)([A-Za-z][A-Za-z0-9+.-]*):`)
	refLink     = regexp.MustCompile(`(?m)^( {0,3}\[[^\]]+\]:\s*<?)([A-Za-z][A-Za-z0-9+.-]*):`)
	fence       = regexp.MustCompile("^ {0,3}(```+|~~~+)")
)

// safeScheme reports whether a link scheme is safe to keep in a course
// introduction.
func safeScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "http", "https", "mailto":
		return true
	}
	return false
}

// SanitizeMarkdown makes a skill introduction safe to render: it removes raw
// HTML (tags, comments, declarations) outside code, and neutralises links
// whose scheme is not http, https or mailto, keeping their text. LibreLingo's
// exporter does the same through an HTML sanitiser; owl keeps the Markdown
// otherwise as written, with Unix line ends and one final newline.
func SanitizeMarkdown(md string) string {
	md = strings.ReplaceAll(md, "\r\n", "\n")
	lines := strings.Split(md, "\n")
	var out []string
	var prose []string
	flush := func() {
		if len(prose) > 0 {
			out = append(out, strings.Split(sanitizeProse(strings.Join(prose, "\n")), "\n")...)
			prose = prose[:0]
		}
	}
	inFence, marker := false, ""
	for _, line := range lines {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case !inFence:
				flush()
				inFence, marker = true, m[1]
			case m[1][0] == marker[0] && len(m[1]) >= len(marker):
				inFence = false
			}
			out = append(out, line)
			continue
		}
		if inFence {
			out = append(out, line)
		} else {
			prose = append(prose, line)
		}
	}
	flush()
	return strings.TrimRight(strings.Join(out, "\n"), " \t\n") + "\n"
}

// sanitizeProse cleans Markdown text outside fenced code, leaving inline
// code spans as they are.
func sanitizeProse(text string) string {
	var b strings.Builder
	for text != "" {
		start := strings.IndexByte(text, '`')
		if start < 0 {
			b.WriteString(cleanText(text))
			break
		}
		b.WriteString(cleanText(text[:start]))
		run := len(text[start:]) - len(strings.TrimLeft(text[start:], "`"))
		ticks := text[start : start+run]
		end := strings.Index(text[start+run:], ticks)
		if end < 0 {
			b.WriteString(ticks)
			text = text[start+run:]
			continue
		}
		b.WriteString(text[start : start+run+end+run])
		text = text[start+run+end+run:]
	}
	return b.String()
}

func cleanText(s string) string {
	s = htmlComment.ReplaceAllString(s, "")
	s = autolink.ReplaceAllStringFunc(s, func(m string) string {
		if safeScheme(autolink.FindStringSubmatch(m)[1]) {
			return m
		}
		return ""
	})
	s = htmlTag.ReplaceAllString(s, "")
	s = inlineLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := inlineLink.FindStringSubmatch(m)
		if safeScheme(sub[2]) {
			return m
		}
		return "](" + sub[1] + "#"
	})
	return refLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := refLink.FindStringSubmatch(m)
		if safeScheme(sub[2]) {
			return m
		}
		return sub[1] + "#"
	})
}
