package librelingo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/owlstack/owl/internal/course"
	"go.yaml.in/yaml/v3"
)

// source is one YAML file being read: its display path and where its
// diagnostics go. Every value is read from yaml.Node, so that each has a line
// and column, repeated keys can be seen, and scalars keep their text (YAML
// 1.1 booleans such as Yes, No, On and False stay text, as they do in
// LibreLingo's loader).
type source struct {
	file  string
	diags *course.Diagnostics
	// aliases counts alias dereferences, to refuse alias bombs.
	aliases int
}

// maxAliases bounds how many aliases one file may dereference.
const maxAliases = 10000

func (s *source) pos(n *yaml.Node) course.Pos {
	if n == nil {
		return course.Pos{File: s.file, Line: 1, Col: 1}
	}
	return course.Pos{File: s.file, Line: n.Line, Col: n.Column}
}

func (s *source) errorf(n *yaml.Node, format string, args ...any) {
	s.diags.Errorf(s.pos(n), format, args...)
}

func (s *source) warnf(n *yaml.Node, format string, args ...any) {
	s.diags.Warnf(s.pos(n), format, args...)
}

var yamlErrorLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parse reads a YAML file that must hold a single document, and returns its
// root node, or nil after recording why it cannot.
func (s *source) parse(data []byte) *yaml.Node {
	if !s.checkText(data) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			s.diags.Errorf(course.Pos{File: s.file, Line: 1, Col: 1}, "expected a YAML mapping, found an empty file")
			return nil
		}
		s.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		s.errorf(&next, "expected a single YAML document, found a second one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		s.syntaxError(data, err)
		return nil
	}
	s.checkTabs(data)
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return &doc
}

// syntaxError records a parser error. The YAML parser reports the line
// where the enclosing block or flow collection starts (sometimes counted
// from zero) and no column, so the line is found again by parsing ever
// longer prefixes of the file until the same error appears: that is the line
// where the parser gave up. The column is that of the first tab for tab
// errors and of the first other character otherwise.
func (s *source) syntaxError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	problem := msg
	line := 0
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		problem = m[2]
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if found := locateSyntaxError(lines, problem); found > 0 {
		line = found
	}
	if line < 1 || line > len(lines) {
		s.diags.Errorf(course.Pos{File: s.file}, "invalid YAML: %s", problem)
		return
	}
	text := bytes.TrimRight(lines[line-1], "\r\n")
	col := utf8.RuneCount(text) - utf8.RuneCount(bytes.TrimLeft(text, " ")) + 1
	if strings.Contains(problem, "tab") {
		if i := bytes.IndexByte(text, '\t'); i >= 0 {
			col = utf8.RuneCount(text[:i]) + 1
		}
	}
	s.diags.Errorf(course.Pos{File: s.file, Line: line, Col: col}, "invalid YAML: %s", problem)
}

// maxLocateLines bounds the files whose syntax errors are located by
// re-parsing prefixes, which takes time quadratic in the error's line.
const maxLocateLines = 5000

// locateSyntaxError returns the first line n such that the first n lines
// fail to parse with problem, or 0.
func locateSyntaxError(lines [][]byte, problem string) int {
	if len(lines) > maxLocateLines {
		return 0
	}
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		dec := yaml.NewDecoder(bytes.NewReader(prefix))
		var err error
		for err == nil {
			var n yaml.Node
			err = dec.Decode(&n)
		}
		if errors.Is(err, io.EOF) {
			continue
		}
		p := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlErrorLine.FindStringSubmatch(p); m != nil {
			p = m[2]
		}
		if p == problem {
			return i + 1
		}
	}
	return 0
}

// checkText reports the first byte that is not valid UTF-8 or a character
// YAML does not allow, with its exact position, since the parser would say
// neither where nor what.
func (s *source) checkText(data []byte) bool {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return true // UTF-16, which the parser decodes itself
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			s.diags.Errorf(course.Pos{File: s.file, Line: line, Col: col}, "expected UTF-8 text, found the byte 0x%02x", data[i])
			return false
		case !yamlPrintable(r) && !(r == '\uFEFF' && i == 0):
			s.diags.Errorf(course.Pos{File: s.file, Line: line, Col: col}, "expected printable text, found the control character U+%04X", r)
			return false
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return true
}

// yamlPrintable reports whether YAML allows r in a stream.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x85 || (r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd && r != 0xfeff):
		return true
	case r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// checkTabs warns about tabs after the text of a line. YAML 1.2 allows them,
// but LibreLingo's YAML 1.1 loader (PyYAML) rejects the whole file.
func (s *source) checkTabs(data []byte) {
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		trimmed := bytes.TrimRight(line, " \t")
		if len(trimmed) == 0 || len(trimmed) == len(line) {
			continue
		}
		tab := bytes.IndexByte(line[len(trimmed):], '\t')
		if tab < 0 {
			continue
		}
		col := utf8.RuneCount(trimmed) + tab + 1
		s.diags.Warnf(course.Pos{File: s.file, Line: i + 1, Col: col},
			"tab after the text; LibreLingo's YAML 1.1 loader rejects this file, remove the tab")
	}
}

// resolve follows aliases. Past maxAliases dereferences in a file it
// records an error once and returns nil.
func (s *source) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		s.aliases++
		if s.aliases > maxAliases {
			if s.aliases == maxAliases+1 {
				s.errorf(n, "expected at most %d aliases in a file; this one has more", maxAliases)
			}
			return nil
		}
		n = n.Alias
	}
	return n
}

// describe names what a node holds, for error messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.ScalarNode:
		return fmt.Sprintf("the text %q", n.Value)
	}
	return "something else"
}

// isNull reports whether a node is YAML's null: an empty value, ~ or null.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Style == 0 && n.ShortTag() == "!!null")
}

// text reads a scalar as text; what names it in errors.
func (s *source) text(n *yaml.Node, what string) (string, bool) {
	r := s.resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode || isNull(r) {
		s.errorf(n, "expected text for %s, found %s", what, describe(r))
		return "", false
	}
	return r.Value, true
}

// textList reads a list of scalars; what names the list in errors.
func (s *source) textList(n *yaml.Node, what string) ([]string, bool) {
	r := s.resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode {
		s.errorf(n, "expected a list for %s, found %s", what, describe(r))
		return nil, false
	}
	out := make([]string, 0, len(r.Content))
	ok := true
	for _, item := range r.Content {
		t, good := s.text(item, "an item of "+what)
		ok = ok && good
		out = append(out, t)
	}
	return out, ok
}

// list reads a sequence node; what names it in errors.
func (s *source) list(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	r := s.resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode {
		s.errorf(n, "expected a list for %s, found %s", what, describe(r))
		return nil, false
	}
	return r.Content, true
}

// field is one key of a mapping with its value.
type field struct {
	name       string
	key, value *yaml.Node
}

// fields are the keys of a mapping, in order of first appearance, each with
// the value it was given last (LibreLingo's loader keeps the last value of a
// repeated key too).
type fields struct {
	src   *source
	node  *yaml.Node
	list  []field
	index map[string]int
}

// mapping reads a mapping node; what names it in errors. Repeated keys are
// warned about; merge keys (<<) are honoured.
func (s *source) mapping(n *yaml.Node, what string) (*fields, bool) {
	r := s.resolve(n)
	if r == nil || r.Kind != yaml.MappingNode {
		s.errorf(n, "expected a mapping for %s, found %s", what, describe(r))
		return nil, false
	}
	f := &fields{src: s, node: n, index: make(map[string]int)}
	var merges []*yaml.Node
	for i := 0; i+1 < len(r.Content); i += 2 {
		k, v := r.Content[i], r.Content[i+1]
		rk := s.resolve(k)
		if rk == nil || rk.Kind != yaml.ScalarNode {
			s.errorf(k, "expected text keys in %s, found %s as a key", what, describe(rk))
			return nil, false
		}
		if rk.Style == 0 && rk.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if at, ok := f.index[rk.Value]; ok {
			first := f.list[at].key
			s.warnf(k, "repeated key %q in %s (first at line %d); the last value is used, as LibreLingo does", rk.Value, what, first.Line)
			f.list[at].value = v
			continue
		}
		f.index[rk.Value] = len(f.list)
		f.list = append(f.list, field{name: rk.Value, key: k, value: v})
	}
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if rm := s.resolve(m); rm != nil && rm.Kind == yaml.SequenceNode {
			sources = rm.Content
		}
		for _, src := range sources {
			merged, ok := s.mapping(src, "a merge (<<) into "+what)
			if !ok {
				return nil, false
			}
			for _, mf := range merged.list {
				if _, ok := f.index[mf.name]; ok {
					continue
				}
				f.index[mf.name] = len(f.list)
				f.list = append(f.list, mf)
			}
		}
	}
	return f, true
}

// get returns the value of key, if the mapping has it.
func (f *fields) get(key string) (*yaml.Node, bool) {
	i, ok := f.index[key]
	if !ok {
		return nil, false
	}
	return f.list[i].value, true
}

// keyNode returns the node of key, if the mapping has it.
func (f *fields) keyNode(key string) *yaml.Node {
	if i, ok := f.index[key]; ok {
		return f.list[i].key
	}
	return nil
}

// require returns the value of key, recording an error when it is missing.
func (f *fields) require(key, what string) (*yaml.Node, bool) {
	v, ok := f.get(key)
	if !ok {
		f.src.errorf(f.node, "expected %q in %s", key, what)
	}
	return v, ok
}

// warnUnknown warns about the keys that are not known, suggesting a known
// key for near misses.
func (f *fields) warnUnknown(what string, known ...string) {
	for _, fl := range f.list {
		key := fl.name
		if containsString(known, key) {
			continue
		}
		if hint := suggest(key, known); hint != "" {
			f.src.warnf(fl.key, "unknown key %q in %s is ignored; did you mean %q?", key, what, hint)
		} else {
			f.src.warnf(fl.key, "unknown key %q in %s is ignored (known keys: %s)", key, what, quoteAll(known))
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// aliasKeys maps keys that course authors use by mistake to the key meant,
// per context; suggest falls back to spelling distance.
var aliasKeys = map[string]string{
	"alternative":             "Alternative versions",
	"alternatives":            "Alternative versions",
	"alternative version":     "Alternative versions",
	"alternative translation": "Alternative translations",
	"synonym":                 "Synonyms",
	"image":                   "Images",
	"thumbnail":               "Thumbnails",
	"skill":                   "Skills",
	"module":                  "Modules",
}

// counterparts pairs the keys that mean the same for words and for phrases.
var counterparts = map[string]string{
	"Alternative translations": "Also accepted",
	"Also accepted":            "Alternative translations",
	"Alternative versions":     "Synonyms",
	"Synonyms":                 "Alternative versions",
}

// suggest returns the known key closest to key, if one is close enough.
func suggest(key string, known []string) string {
	lower := strings.ToLower(strings.TrimSpace(key))
	if k, ok := aliasKeys[lower]; ok {
		if containsString(known, k) {
			return k
		}
		if c := counterparts[k]; containsString(known, c) {
			return c
		}
	}
	if c := counterparts[strings.TrimSpace(key)]; containsString(known, c) {
		return c
	}
	for _, k := range known {
		if strings.EqualFold(k, strings.TrimSpace(key)) {
			return k
		}
	}
	best, bestDist := "", 3
	for _, k := range known {
		if d := levenshtein(lower, strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	row := make([]int, len(rb)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(rb); j++ {
			up := row[j]
			if ra[i-1] == rb[j-1] {
				row[j] = diag
			} else {
				row[j] = 1 + min(diag, up, row[j-1])
			}
			diag = up
		}
	}
	return row[len(rb)]
}
