package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/owlstack/owl/internal/course"
	"github.com/owlstack/owl/internal/course/coursegen"
	"github.com/owlstack/owl/internal/course/librelingo"
	"github.com/owlstack/owl/internal/course/snapshot"
	"github.com/owlstack/owl/internal/coursestore"
	"github.com/owlstack/owl/internal/logging"
)

func newCourseCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "course",
		Short: "Validate, compile, inspect and publish courses (LibreLingo YAML format)",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(
		newCourseValidateCmd(e),
		newCourseCompileCmd(e),
		newCourseInspectCmd(e),
		newCoursePublishCmd(e),
		newCourseExportCmd(e),
		newCourseSynthCmd(e),
	)
	return cmd
}

// sourceFlags are the flags of every command that reads a course source.
type sourceFlags struct {
	src    string
	strict bool
	assets string
}

func (s *sourceFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.src, "src", "", "course folder: the one holding course.yaml (required)")
	cmd.Flags().BoolVar(&s.strict, "strict", false, "treat every warning as an error")
	cmd.Flags().StringVar(&s.assets, "assets", "", "folder of the course's images; when given, every image a course names must be there")
}

// snapshotFlags are the flags of the commands that compile a snapshot.
type snapshotFlags struct {
	sourceFlags
	id, version string
}

func (f *snapshotFlags) bind(cmd *cobra.Command) {
	f.sourceFlags.bind(cmd)
	cmd.Flags().StringVar(&f.id, "id", "", "course id (default: the source folder's name)")
	cmd.Flags().StringVar(&f.version, "course-version", "", "version label of the course content, recorded in the snapshot")
}

// compile loads the course and encodes its snapshot.
func (f *snapshotFlags) compile(cmd *cobra.Command, e *env) ([]byte, string, error) {
	c, err := f.load(cmd, e)
	if err != nil {
		return nil, "", err
	}
	id := f.id
	if id == "" {
		id = defaultCourseID(f.src)
	}
	stage(e, "deriving challenges")
	data, err := compileCourse(c, id, f.version)
	return data, id, err
}

// load reads and validates the course, printing its diagnostics on stderr.
func (s *sourceFlags) load(cmd *cobra.Command, e *env) (*course.Course, error) {
	if s.src == "" {
		return nil, usagef(cmd, "missing --src: the course folder")
	}
	opts := librelingo.Options{Strict: s.strict}
	if s.assets != "" {
		opts.Assets = os.DirFS(s.assets)
	}
	stage(e, "loading %s", s.src)
	c, diags, err := librelingo.Load(s.src, opts)
	if diags != nil {
		_, _ = diags.WriteTo(e.stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("course %s has errors; nothing was written", s.src)
	}
	return c, nil
}

// stage tells a person at a terminal what a long command is doing.
func stage(e *env, format string, args ...any) {
	if logging.IsTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}
}

var nonIDChars = regexp.MustCompile(`[^a-z0-9._-]+`)

// defaultCourseID is the course folder's name, or its parent's when the
// folder is the conventional "course" (or "yaml") folder of a repository.
func defaultCourseID(src string) string {
	abs, err := filepath.Abs(src)
	if err != nil {
		abs = src
	}
	name := filepath.Base(abs)
	if name == "course" || name == "yaml" {
		name = filepath.Base(filepath.Dir(abs))
	}
	return strings.Trim(nonIDChars.ReplaceAllString(strings.ToLower(name), "-"), "-._")
}

// compileCourse derives the challenges of c and encodes the snapshot.
func compileCourse(c *course.Course, id, courseVersion string) ([]byte, error) {
	if err := coursestore.ValidateCourseID(id); err != nil {
		return nil, err
	}
	return snapshot.Compile(snapshot.Header{CourseID: id, CourseVersion: courseVersion, CompilerVersion: versionString()}, c, course.Derive(c))
}

// compileFS compiles a course read from a file system, such as the demo
// course embedded in the binary.
func compileFS(fsys fs.FS, root, id string) ([]byte, error) {
	c, diags, err := librelingo.LoadFS(fsys, root, librelingo.Options{})
	if err != nil {
		var b strings.Builder
		_, _ = diags.WriteTo(&b)
		return nil, fmt.Errorf("course %s: %w\n%s", root, err, b.String())
	}
	return compileCourse(c, id, "")
}

func newCourseValidateCmd(e *env) *cobra.Command {
	var s sourceFlags
	cmd := &cobra.Command{
		Use:   "validate --src DIR",
		Short: "Check a course without writing anything; errors and warnings go to stderr",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.load(cmd, e)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: ok (%s)\n", s.src, counts(snapshot.Summarize(c, course.Derive(c))))
			return nil
		},
	}
	s.bind(cmd)
	return cmd
}

func counts(s interface {
	GetModules() uint32
	GetSkills() uint32
	GetWords() uint32
	GetPhrases() uint32
}) string {
	return fmt.Sprintf("%d modules, %d skills, %d words, %d phrases", s.GetModules(), s.GetSkills(), s.GetWords(), s.GetPhrases())
}

func newCourseCompileCmd(e *env) *cobra.Command {
	var s snapshotFlags
	var out string
	cmd := &cobra.Command{
		Use:   "compile --src DIR --out FILE",
		Short: "Compile a course into a snapshot file (.owlc)",
		Long: `Compile a course into a snapshot: every challenge of every skill, derived
deterministically, in a checksummed, zstd-compressed protobuf file. The same
source always gives a byte-identical file. Nothing is written when the
course has errors.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "missing --out: the snapshot file to write")
			}
			data, id, err := s.compile(cmd, e)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(out, func(w io.Writer) error { _, err := w.Write(data); return err }, 0o644); err != nil {
				return fmt.Errorf("write snapshot: %w", err)
			}
			h, _, err := snapshot.ReadHeader(data)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: course %s, %s, %d bytes, sha256 %s\n", out, id, counts(h.Summary), len(data), h.SHA256)
			return nil
		},
	}
	s.bind(cmd)
	cmd.Flags().StringVar(&out, "out", "", "snapshot file to write (required)")
	return cmd
}

// inspectJSON is the output of 'owl course inspect --json'.
type inspectJSON struct {
	FormatVersion   int            `json:"format_version"`
	Course          string         `json:"course"`
	CourseVersion   string         `json:"course_version"`
	CompilerVersion string         `json:"compiler_version"`
	Modules         uint32         `json:"modules"`
	Skills          uint32         `json:"skills"`
	Words           uint32         `json:"words"`
	Phrases         uint32         `json:"phrases"`
	Challenges      map[string]int `json:"challenges"`
	Size            int            `json:"size"`
	PayloadSize     int64          `json:"payload_size"`
	Uncompressed    int64          `json:"uncompressed_size"`
	SHA256          string         `json:"sha256"`
	PayloadSHA256   string         `json:"payload_sha256"`
}

func newCourseInspectCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Verify a snapshot file and describe it",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef(cmd, "expected one snapshot file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			sc, err := snapshot.Load(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			h := sc.Header
			out := inspectJSON{
				FormatVersion: h.FormatVersion, Course: h.CourseID, CourseVersion: h.CourseVersion, CompilerVersion: h.CompilerVersion,
				Modules: h.Summary.GetModules(), Skills: h.Summary.GetSkills(), Words: h.Summary.GetWords(), Phrases: h.Summary.GetPhrases(),
				Challenges: map[string]int{}, Size: len(data), PayloadSize: h.PayloadSize, Uncompressed: h.UncompressedSize,
				SHA256: h.SHA256, PayloadSHA256: h.PayloadSHA256,
			}
			// Count from the payload itself, not from the header's summary.
			for _, s := range sc.Skills {
				for _, ch := range s.Challenges {
					out.Challenges[string(ch.ChallengeType())]++
				}
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return printInspect(e.stdout, out, sc)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printInspect(w io.Writer, o inspectJSON, sc *snapshot.Course) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "course\t%s\n", o.Course)
	if o.CourseVersion != "" {
		fmt.Fprintf(tw, "course version\t%s\n", o.CourseVersion)
	}
	fmt.Fprintf(tw, "languages\t%s (%s) for speakers of %s (%s)\n", sc.Course.Target.Name, sc.Course.Target.Code, sc.Course.Source.Name, sc.Course.Source.Code)
	fmt.Fprintf(tw, "format version\t%d\n", o.FormatVersion)
	fmt.Fprintf(tw, "compiler\towl %s\n", o.CompilerVersion)
	fmt.Fprintf(tw, "contents\t%d modules, %d skills, %d words, %d phrases\n", o.Modules, o.Skills, o.Words, o.Phrases)
	fmt.Fprintf(tw, "size\t%d bytes (payload %d compressed, %d uncompressed)\n", o.Size, o.PayloadSize, o.Uncompressed)
	fmt.Fprintf(tw, "sha256\t%s\n", o.SHA256)
	fmt.Fprintf(tw, "\nchallenge type\tcount\n")
	total := 0
	for _, t := range course.Types {
		fmt.Fprintf(tw, "%s\t%d\n", t, o.Challenges[string(t)])
		total += o.Challenges[string(t)]
	}
	fmt.Fprintf(tw, "total\t%d\n", total)
	return tw.Flush()
}

func newCoursePublishCmd(e *env) *cobra.Command {
	var s snapshotFlags
	var store string
	cmd := &cobra.Command{
		Use:   "publish --src DIR --store URL",
		Short: "Compile a course and publish it to a course store",
		Long: `Compile a course and publish it: the snapshot goes to
snapshots/<sha256>.owlc first, then courses/<id>/manifest.json names it with
a version one higher than before. Publishing an unchanged course changes
nothing. The store is a gocloud.dev/blob URL (file:///path, or
s3://bucket?region=R&endpoint=URL&use_path_style=true for any S3-compatible
store) or a plain folder path.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if store == "" {
				return usagef(cmd, "missing --store: the course store URL or folder")
			}
			data, _, err := s.compile(cmd, e)
			if err != nil {
				return err
			}
			return publish(cmd.Context(), e, store, data)
		},
	}
	s.bind(cmd)
	cmd.Flags().StringVar(&store, "store", "", "course store: a gocloud.dev/blob URL or a folder (required)")
	return cmd
}

func publish(ctx context.Context, e *env, storeURL string, data []byte) error {
	st, err := coursestore.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	m, changed, err := st.Publish(ctx, data)
	if err != nil {
		return err
	}
	if changed {
		fmt.Fprintf(e.stdout, "published %s version %d (sha256 %s)\n", m.Course, m.Version, m.SHA256)
	} else {
		fmt.Fprintf(e.stdout, "%s unchanged at version %d (sha256 %s)\n", m.Course, m.Version, m.SHA256)
	}
	return nil
}

func newCourseExportCmd(e *env) *cobra.Command {
	var s sourceFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export-librelingo --src DIR --out DIR",
		Short: "Write the JSON LibreLingo's web app reads (courseData.json, challenges/*.json)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "missing --out: the folder to write the JSON into")
			}
			c, err := s.load(cmd, e)
			if err != nil {
				return err
			}
			if err := librelingo.Export(c, out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "exported %d skills to %s\n", len(c.Skills()), out)
			return nil
		},
	}
	s.bind(cmd)
	cmd.Flags().StringVar(&out, "out", "", "folder to write the JSON into (required)")
	return cmd
}

func newCourseSynthCmd(e *env) *cobra.Command {
	o := coursegen.Large
	var out string
	cmd := &cobra.Command{
		Use:   "synth --out DIR",
		Short: "Write a synthetic course of any size, for load tests",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef(cmd, "missing --out: the folder to write the course into")
			}
			if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
				return fmt.Errorf("%s is not empty", out)
			}
			if err := coursegen.Write(out, o); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote a course of %d words and %d phrases in %d skills to %s\n", o.Words, o.Phrases, o.Modules*o.SkillsPerModule, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write the course into (required)")
	cmd.Flags().IntVar(&o.Words, "words", o.Words, "number of new words")
	cmd.Flags().IntVar(&o.Phrases, "phrases", o.Phrases, "number of phrases")
	cmd.Flags().IntVar(&o.Modules, "modules", o.Modules, "number of modules")
	cmd.Flags().IntVar(&o.SkillsPerModule, "skills-per-module", o.SkillsPerModule, "skills in each module")
	cmd.Flags().Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	return cmd
}
