package snapshot

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/owlstack/owl/internal/course"
)

// This file decodes Challenge messages (snapshotpb/snapshot.proto)
// straight from the payload's bytes into course values, without building
// the protobuf messages first: a course has tens of thousands of
// challenges, and a server that refreshes its courses would otherwise
// allocate, then collect, every one of their strings twice. Strings are
// shared through the decoder's table, looked up without allocating. It
// reads the messages as proto.Unmarshal does: the last value of a scalar
// field wins, repeated fields append, packed or not, fields of the wrong
// wire type or unknown numbers are skipped, and strings must be UTF-8.

// field is one field of a message.
type field struct {
	num protowire.Number
	typ protowire.Type
	b   []byte // the value of a bytes field
	x   uint64 // the value of a varint field
}

// eachField calls fn for each varint and bytes field of the message b and
// skips the others.
func eachField(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// str returns a shared copy of the string field f.
func (d *decoder) str(f field) (string, error) {
	if len(f.b) == 0 {
		return "", nil
	}
	if s, ok := d.strs[string(f.b)]; ok {
		return s, nil
	}
	if !utf8.Valid(f.b) {
		return "", fmt.Errorf("field %d: invalid UTF-8", f.num)
	}
	s := string(f.b)
	d.strs[s] = s
	return s, nil
}

// ints appends the int32 values of a repeated field, packed or not.
func ints32(dst []int, f field) ([]int, error) {
	if f.typ == protowire.VarintType {
		return append(dst, int(int32(f.x))), nil
	}
	for b := f.b; len(b) > 0; {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		dst = append(dst, int(int32(x)))
		b = b[n:]
	}
	return dst, nil
}

// is reports whether f is field num of type typ.
func (f field) is(num protowire.Number, typ protowire.Type) bool { return f.num == num && f.typ == typ }

// strs collects the values of a repeated string field in one of the
// decoder's buffers, which the next message reuses, so that a list costs
// one allocation of its final size: appending to a nil slice allocates at
// 1, 2, 4, 8... values, and a course has tens of thousands of lists.
type strs struct {
	d    *decoder
	slot int
	list []string
}

// The decoder's list buffers: lists collected at the same time need
// different ones.
const (
	listTerms = iota
	listA
	listB
	listSolution
	listBuffers
)

func (d *decoder) strsIn(slot int) strs { return strs{d: d, slot: slot, list: d.lists[slot][:0]} }

func (s *strs) add(f field) error {
	v, err := s.d.str(f)
	s.list = append(s.list, v)
	return err
}

// done returns the list (nil when empty, as appending to nil gives) and
// hands the buffer back.
func (s *strs) done() []string {
	s.d.lists[s.slot] = s.list[:0]
	if len(s.list) == 0 {
		return nil
	}
	return slices.Clone(s.list)
}

func (d *decoder) wordDefs(dst []course.WordDefinition, f field) ([]course.WordDefinition, error) {
	var w course.WordDefinition
	err := eachField(f.b, func(g field) error {
		var err error
		switch {
		case g.is(1, protowire.BytesType):
			w.Word, err = d.str(g)
		case g.is(2, protowire.BytesType):
			w.Definition, err = d.str(g)
		}
		return err
	})
	return append(dst, w), err
}

// defsDone returns the definitions collected in the decoder's buffer as
// the protobuf path builds them (never nil), and hands the buffer back.
func (d *decoder) defsDone(defs []course.WordDefinition) []course.WordDefinition {
	d.defBuf = defs[:0]
	if len(defs) == 0 {
		return []course.WordDefinition{}
	}
	return slices.Clone(defs)
}

// challengeBytes decodes one Challenge message.
func (d *decoder) challengeBytes(b []byte) (course.Challenge, error) {
	var meta course.Meta
	terms := d.strsIn(listTerms)
	var kind protowire.Number
	var kindBytes []byte
	err := eachField(b, func(f field) error {
		var err error
		switch {
		case f.is(1, protowire.BytesType):
			if !utf8.Valid(f.b) {
				return fmt.Errorf("id: invalid UTF-8")
			}
			meta.ID = string(f.b)
		case f.is(2, protowire.VarintType):
			meta.Priority = int(int32(f.x))
		case f.is(3, protowire.BytesType):
			meta.Group, err = d.str(f)
		case f.num == 4 && (f.typ == protowire.BytesType || f.typ == protowire.VarintType):
			meta.Words, err = ints32(meta.Words, f)
		case f.num == 5 && (f.typ == protowire.BytesType || f.typ == protowire.VarintType):
			meta.Phrases, err = ints32(meta.Phrases, f)
		case f.is(6, protowire.BytesType):
			err = terms.add(f)
		case f.num >= 10 && f.num <= 18 && f.typ == protowire.BytesType:
			if f.num == kind {
				// A repeated message field merges: its fields append.
				kindBytes = append(slices.Clip(kindBytes), f.b...)
			} else {
				kind, kindBytes = f.num, f.b
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	meta.Terms = terms.done()
	var ch course.Challenge
	s1, s2 := d.strsIn(listA), d.strsIn(listB)
	defs := d.defBuf[:0]
	switch kind {
	case 10:
		c := &course.Cards{Type: course.TypeCards, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.BytesType):
				err = s1.add(f)
			case f.is(2, protowire.BytesType):
				c.FormInTargetLanguage, err = d.str(f)
			case f.is(3, protowire.BytesType):
				c.MeaningInSourceLanguage, err = d.str(f)
			}
			return err
		})
		c.Pictures = s1.done()
		ch = c
	case 11:
		c := &course.Options{Type: course.TypeOptions, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.BytesType):
				c.FormInTargetLanguage, err = d.str(f)
			case f.is(2, protowire.BytesType):
				c.MeaningInSourceLanguage, err = d.str(f)
			case f.is(3, protowire.BytesType):
				c.Audio, err = d.str(f)
			case f.is(4, protowire.BytesType):
				err = s1.add(f)
			}
			return err
		})
		c.Distractors = s1.done()
		ch = c
	case 12:
		c := &course.ShortInput{Type: course.TypeShortInput, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.BytesType):
				err = s1.add(f)
			case f.is(2, protowire.BytesType):
				err = s2.add(f)
			case f.is(3, protowire.BytesType):
				defs, err = d.wordDefs(defs, f)
			}
			return err
		})
		c.Pictures, c.FormInTargetLanguage, c.Phrase = s1.done(), s2.done(), d.defsDone(defs)
		ch = c
	case 13:
		c := &course.Listening{Type: course.TypeListening, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.BytesType):
				c.Answer, err = d.str(f)
			case f.is(2, protowire.BytesType):
				c.Meaning, err = d.str(f)
			case f.is(3, protowire.BytesType):
				c.Audio, err = d.str(f)
			}
			return err
		})
		ch = c
	case 14:
		c := &course.Chips{Type: course.TypeChips, Meta: meta, Solutions: [][]string{}}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.VarintType):
				c.TranslatesToSourceLanguage = f.x != 0
			case f.is(2, protowire.BytesType):
				defs, err = d.wordDefs(defs, f)
			case f.is(3, protowire.BytesType):
				err = s1.add(f)
			case f.is(4, protowire.BytesType):
				sol := d.strsIn(listSolution)
				err = eachField(f.b, func(g field) error {
					if g.is(1, protowire.BytesType) {
						return sol.add(g)
					}
					return nil
				})
				c.Solutions = append(c.Solutions, sol.done())
			case f.is(5, protowire.BytesType):
				c.FormattedSolution, err = d.str(f)
			}
			return err
		})
		c.Phrase, c.Chips = d.defsDone(defs), s1.done()
		ch = c
	case 15:
		c := &course.ReverseTranslation{Type: course.TypeReverseTranslation, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.VarintType):
				c.TranslatesToSourceLanguage = f.x != 0
			case f.is(2, protowire.BytesType):
				c.Prompt, err = d.str(f)
			case f.is(3, protowire.BytesType):
				defs, err = d.wordDefs(defs, f)
			case f.is(4, protowire.BytesType):
				err = s1.add(f)
			case f.is(5, protowire.BytesType):
				c.FormattedSolution, err = d.str(f)
			}
			return err
		})
		c.Phrase, c.Answers = d.defsDone(defs), s1.done()
		ch = c
	case 16:
		c := &course.MissingWord{Type: course.TypeMissingWord, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.BytesType):
				c.Before, err = d.str(f)
			case f.is(2, protowire.BytesType):
				c.After, err = d.str(f)
			case f.is(3, protowire.BytesType):
				c.Answer, err = d.str(f)
			case f.is(4, protowire.BytesType):
				err = s1.add(f)
			case f.is(5, protowire.BytesType):
				c.Meaning, err = d.str(f)
			case f.is(6, protowire.BytesType):
				c.FormattedSolution, err = d.str(f)
			}
			return err
		})
		c.Choices = s1.done()
		ch = c
	case 17:
		c := &course.Speaking{Type: course.TypeSpeaking, Meta: meta}
		err = eachField(kindBytes, func(f field) error {
			var err error
			switch {
			case f.is(1, protowire.BytesType):
				c.Phrase, err = d.str(f)
			case f.is(2, protowire.BytesType):
				c.Meaning, err = d.str(f)
			case f.is(3, protowire.BytesType):
				err = s1.add(f)
			case f.is(4, protowire.BytesType):
				c.Audio, err = d.str(f)
			}
			return err
		})
		c.Answers = s1.done()
		ch = c
	case 18:
		c := &course.MatchPairs{Type: course.TypeMatchPairs, Meta: meta, Pairs: []course.Pair{}}
		err = eachField(kindBytes, func(f field) error {
			if !f.is(1, protowire.BytesType) {
				return nil
			}
			var p course.Pair
			err := eachField(f.b, func(g field) error {
				var err error
				switch {
				case g.is(1, protowire.BytesType):
					p.Target, err = d.str(g)
				case g.is(2, protowire.BytesType):
					p.Source, err = d.str(g)
				}
				return err
			})
			c.Pairs = append(c.Pairs, p)
			return err
		})
		ch = c
	default:
		return nil, fmt.Errorf("challenge %q has no known type (written by a newer owl?)", meta.ID)
	}
	if err != nil {
		return nil, err
	}
	return ch, nil
}
