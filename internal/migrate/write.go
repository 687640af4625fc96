package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Change is one file that writing an Output would add, change or remove.
type Change struct {
	Path string `json:"path"`
	Kind string `json:"kind"` // added, changed or removed
	// Diff is a unified-style line diff of a changed file.
	Diff string `json:"diff,omitempty"`
}

// Owned returns the paths under which the output owns every file: the
// folders of the services converted in this run and their ApplicationSets.
// Files there that the run did not generate are stale and removed; files of
// services that failed to convert are left alone.
func (o *Output) Owned() []string {
	var owned []string
	if o.Files[NodePoolsFile] != nil {
		owned = append(owned, NodePoolsFile)
	}
	for _, s := range o.Report.Services {
		if s.Error == "" && len(s.Findings) > 0 && o.Files["argocd/"+s.Service+".yaml"] != nil {
			owned = append(owned, ServiceDir(s.Service)+"/", "argocd/"+s.Service+".yaml")
		}
	}
	return owned
}

// Plan compares the output with what is in dir and returns the changes
// that Write would make, in path order.
func Plan(dir string, files map[string][]byte, owned []string) ([]Change, error) {
	var changes []Change
	for _, p := range sortedKeys(files) {
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changes = append(changes, Change{Path: p, Kind: "added"})
		case err != nil:
			return nil, err
		case !bytes.Equal(old, files[p]):
			changes = append(changes, Change{Path: p, Kind: "changed", Diff: lineDiff(string(old), string(files[p]))})
		}
	}
	stale, err := staleFiles(dir, files, owned)
	if err != nil {
		return nil, err
	}
	for _, p := range stale {
		changes = append(changes, Change{Path: p, Kind: "removed"})
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return changes, nil
}

// staleFiles lists the files under the owned paths that files lacks.
func staleFiles(dir string, files map[string][]byte, owned []string) ([]string, error) {
	var stale []string
	for _, own := range owned {
		root := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(own, "/")))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); files[rel] == nil {
				stale = append(stale, rel)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return stale, nil
}

// Write writes the files that changed, each atomically (a temporary file
// renamed into place), removes stale owned files, and returns the changes.
func Write(dir string, files map[string][]byte, owned []string) ([]Change, error) {
	changes, err := Plan(dir, files, owned)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		p := filepath.Join(dir, filepath.FromSlash(c.Path))
		if c.Kind == "removed" {
			if err := os.Remove(p); err != nil {
				return nil, fmt.Errorf("remove stale %s: %w", c.Path, err)
			}
			continue
		}
		if err := WriteFileAtomic(p, files[c.Path]); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// folder, so that readers see the old or the new content, never a part.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lineDiff is a line diff of a and b with two lines of context, from the
// longest common subsequence; manifests are small enough for O(n·m).
func lineDiff(a, b string) string {
	x, y := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			lines = append(lines, line{' ', x[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', x[i]})
			i++
		default:
			lines = append(lines, line{'+', y[j]})
			j++
		}
	}
	var sb strings.Builder
	const context = 2
	last := -1
	for k, l := range lines {
		near := false
		for d := max(0, k-context); d <= min(len(lines)-1, k+context); d++ {
			if lines[d].op != ' ' {
				near = true
				break
			}
		}
		if !near {
			continue
		}
		if last >= 0 && k > last+1 {
			sb.WriteString("@@\n")
		}
		sb.WriteByte(l.op)
		sb.WriteString(strings.TrimSuffix(l.text, "\n"))
		sb.WriteByte('\n')
		last = k
	}
	return sb.String()
}
