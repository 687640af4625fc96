package stitch

import (
	"fmt"
	"os"
)

// source yields records in order: a sorted buffer still in memory or a
// run file.
type source interface {
	// next returns the next record; p is valid until the following call.
	// ok is false after the last.
	next() (k key, p []byte, ok bool, err error)
}

// memSource yields a sorted buffer's records.
type memSource struct {
	entries []entry
	arena   []byte
	i       int
}

func (ms *memSource) next() (key, []byte, bool, error) {
	if ms.i == len(ms.entries) {
		return key{}, nil, false, nil
	}
	e := &ms.entries[ms.i]
	ms.i++
	return e.key, ms.arena[e.off : e.off+e.n], true, nil
}

// merge is a k-way merge of sorted sources, a binary heap of their next
// records.
type merge struct {
	h       []*mergeItem
	files   []*os.File
	advance bool // the top's record was handed out: move its source on
}

type mergeItem struct {
	src source
	k   key
	p   []byte
}

func lessItem(a, b *mergeItem) bool { return compareRecords(a.k, a.p, b.k, b.p) < 0 }

// openMerge merges the sources and the run files at paths, each read
// through a buffer of bufSize bytes.
func openMerge(srcs []source, paths []string, bufSize int) (*merge, error) {
	m := &merge{}
	for _, p := range paths {
		f, rr, err := openRun(p, bufSize)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("merge: %w", err)
		}
		m.files = append(m.files, f)
		srcs = append(srcs, rr)
	}
	for _, s := range srcs {
		it := &mergeItem{src: s}
		k, p, ok, err := s.next()
		if err != nil {
			m.close()
			return nil, fmt.Errorf("merge: %w", err)
		}
		if ok {
			it.k, it.p = k, p
			m.h = append(m.h, it)
		}
	}
	for i := len(m.h)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m, nil
}

// next returns the smallest record left; p is valid until the following
// call, which is when its source moves on.
func (m *merge) next() (k key, p []byte, ok bool, err error) {
	if m.advance {
		m.advance = false
		it := m.h[0]
		nk, np, more, err := it.src.next()
		if err != nil {
			return k, nil, false, err
		}
		if more {
			it.k, it.p = nk, np
		} else {
			last := len(m.h) - 1
			m.h[0] = m.h[last]
			m.h = m.h[:last]
		}
		if len(m.h) > 0 {
			m.down(0)
		}
	}
	if len(m.h) == 0 {
		return k, nil, false, nil
	}
	it := m.h[0]
	m.advance = true
	return it.k, it.p, true, nil
}

func (m *merge) down(i int) {
	h := m.h
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && lessItem(h[r], h[l]) {
			c = r
		}
		if !lessItem(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func (m *merge) close() {
	for _, f := range m.files {
		f.Close()
	}
}
