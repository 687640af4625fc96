package stitch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/owlstack/owl/internal/tracing/synth"
)

// TestLinesAcrossBlocks reads a file whose lines straddle the reader's
// blocks: a line far longer than a block, CRLF ends, blank lines and a
// last line without an end. Line numbers in problems, the line count and
// the stitched output must be what reading line by line gives.
func TestLinesAcrossBlocks(t *testing.T) {
	_, _, app := synthesize(t, synth.Config{Services: 4, Requests: 40, Seed: 5})
	want, wantSum := stitchBytes(t, nil, app, Options{})

	var all []string
	for _, f := range app {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	var buf bytes.Buffer
	var badLines []int
	n := 0
	emit := func(s, end string) {
		n++
		buf.WriteString(s + end)
	}
	for i, l := range all {
		switch i {
		case 3:
			emit("{"+strings.Repeat("x", 200<<10), "\n") // longer than any block
			badLines = append(badLines, n)
		case 10:
			emit("", "\r\n")
		case 20:
			emit("not json", "\n")
			badLines = append(badLines, n)
		}
		end := "\n"
		if i%3 == 0 {
			end = "\r\n"
		}
		emit(l, end)
	}
	emit("{last line without an end", "")
	badLines = append(badLines, n)
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mem := range []int64{0, 64 << 10} {
		got, sum := stitchBytes(t, nil, []string{path}, Options{MemBytes: mem, TempDir: t.TempDir()})
		if !bytes.Equal(got, want) {
			t.Errorf("mem %d: stitched output differs from the clean files'", mem)
		}
		if sum.Lines != int64(n) || sum.Parsed != wantSum.Parsed || sum.Malformed != int64(len(badLines)) {
			t.Errorf("mem %d: lines %d parsed %d malformed %d, want %d, %d, %d", mem, sum.Lines, sum.Parsed, sum.Malformed, n, wantSum.Parsed, len(badLines))
		}
		for i, l := range badLines {
			if i >= len(sum.Problems) || !strings.HasPrefix(sum.Problems[i], fmt.Sprintf("%s:%d: ", path, l)) {
				t.Errorf("mem %d: problems %q, want lines %v", mem, sum.Problems, badLines)
				break
			}
		}
	}
}
