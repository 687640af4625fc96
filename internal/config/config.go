// Package config loads the configuration of one owl target from, in rising
// order of precedence, the defaults in its struct, an optional YAML file,
// OWL_* environment variables and command-line flags.
//
// A target's configuration is a plain struct. Every exported field becomes a
// YAML key (its `yaml` tag), a flag (the key path joined with dashes, or the
// `flag` tag) and an environment variable (OWL_ and the flag name in upper
// case with underscores). The `help` tag documents the field; `secret:"true"`
// keeps its value out of Print. Nested structs are YAML sections; a struct
// tagged `yaml:",inline"` adds its fields to the enclosing level.
package config

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Field describes one setting of a configuration struct.
type Field struct {
	// Path is the chain of YAML keys, e.g. ["log", "level"].
	Path   []string
	Flag   string
	Env    string
	Help   string
	Secret bool
	value  reflect.Value
	flag   *pflag.Flag
}

// Key is the dotted YAML path of the field, e.g. log.level.
func (f *Field) Key() string { return strings.Join(f.Path, ".") }

// Binding ties a configuration struct to a flag set.
type Binding struct {
	fs     *pflag.FlagSet
	fields []*Field
	root   reflect.Value
}

// Bind registers a flag on fs for every field of cfg, a pointer to a struct,
// with the field's current value as the default. It panics when cfg has a
// field type that cannot be configured: that is a programming error.
func Bind(fs *pflag.FlagSet, cfg any) *Binding {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config.Bind: %T is not a pointer to a struct", cfg))
	}
	b := &Binding{fs: fs, root: v.Elem()}
	b.walk(v.Elem(), nil)
	return b
}

// Fields lists the settings in declaration order.
func (b *Binding) Fields() []*Field { return b.fields }

func (b *Binding) walk(v reflect.Value, path []string) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		key, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		fv := v.Field(i)
		if opts == "inline" {
			b.walk(fv, path)
			continue
		}
		if key == "" || key == "-" {
			panic(fmt.Sprintf("config: field %s.%s needs a yaml tag", t.Name(), sf.Name))
		}
		p := append(slices.Clone(path), key)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeFor[time.Duration]() {
			b.walk(fv, p)
			continue
		}
		name := sf.Tag.Get("flag")
		if name == "" {
			name = strings.ReplaceAll(strings.Join(p, "-"), "_", "-")
		}
		f := &Field{
			Path:   p,
			Flag:   name,
			Env:    "OWL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
			Help:   sf.Tag.Get("help"),
			Secret: sf.Tag.Get("secret") == "true",
			value:  fv,
		}
		b.register(f)
		b.fields = append(b.fields, f)
	}
}

func (b *Binding) register(f *Field) {
	help := f.Help
	if f.Secret {
		help += " (secret)"
	}
	switch p := f.value.Addr().Interface().(type) {
	case *string:
		b.fs.StringVar(p, f.Flag, *p, help)
	case *bool:
		b.fs.BoolVar(p, f.Flag, *p, help)
	case *int:
		b.fs.IntVar(p, f.Flag, *p, help)
	case *int64:
		b.fs.Int64Var(p, f.Flag, *p, help)
	case *float64:
		b.fs.Float64Var(p, f.Flag, *p, help)
	case *time.Duration:
		b.fs.DurationVar(p, f.Flag, *p, help)
	case *[]string:
		b.fs.StringSliceVar(p, f.Flag, *p, help)
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %s", f.Key(), f.value.Type()))
	}
	f.flag = b.fs.Lookup(f.Flag)
}

// Load applies the YAML file at path (none when path is empty), then the
// environment read through getenv, then the flags given on the command line,
// which fs has already parsed. It reports every problem it finds, each naming
// the file, line and key or the variable.
func (b *Binding) Load(path string, getenv func(string) string) error {
	// Flags were parsed first, into the struct itself: remember what the
	// command line set so that it can win over the file and environment.
	type saved struct {
		f *Field
		v reflect.Value
	}
	var fromFlags []saved
	for _, f := range b.fields {
		if f.flag.Changed {
			c := reflect.New(f.value.Type()).Elem()
			c.Set(f.value)
			if f.value.Kind() == reflect.Slice {
				c.Set(reflect.AppendSlice(reflect.MakeSlice(f.value.Type(), 0, f.value.Len()), f.value))
			}
			fromFlags = append(fromFlags, saved{f, c})
		}
	}
	var errs []error
	if path != "" {
		errs = append(errs, b.loadFile(path)...)
	}
	for _, f := range b.fields {
		s := getenv(f.Env)
		if s == "" {
			continue
		}
		var err error
		if f.value.Kind() == reflect.Slice {
			var items []string
			items, err = splitList(s)
			if err == nil {
				f.value.Set(reflect.ValueOf(items))
			}
		} else {
			err = f.flag.Value.Set(s)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %s, got %q", f.Env, expected(f), s))
		}
	}
	for _, s := range fromFlags {
		s.f.value.Set(s.v)
	}
	return errors.Join(errs...)
}

func (b *Binding) loadFile(path string) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config file: %w", err)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 says "yaml: line N: ..."; put the file name first.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if strings.HasPrefix(msg, "line ") {
			return []error{fmt.Errorf("%s:%s", path, strings.TrimPrefix(msg, "line "))}
		}
		return []error{fmt.Errorf("%s: %s", path, msg)}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s:%d:%d: expected a mapping of settings, got %s", path, root.Line, root.Column, kindName(root))}
	}
	return b.applyMapping(path, root, nil)
}

func (b *Binding) applyMapping(file string, m *yaml.Node, path []string) []error {
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		p := append(slices.Clone(path), k.Value)
		key := strings.Join(p, ".")
		at := fmt.Sprintf("%s:%d:%d", file, k.Line, k.Column)
		if line, dup := seen[k.Value]; dup {
			errs = append(errs, fmt.Errorf("%s: key %q repeats the one on line %d", at, key, line))
			continue
		}
		seen[k.Value] = k.Line
		field, section := b.lookup(p)
		switch {
		case section:
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.MappingNode {
				errs = append(errs, fmt.Errorf("%s: key %q: expected a mapping, got %s", at, key, kindName(v)))
				continue
			}
			errs = append(errs, b.applyMapping(file, v, p)...)
		case field == nil:
			errs = append(errs, fmt.Errorf("%s: unknown key %q (valid keys here: %s)", at, key, strings.Join(b.keysUnder(path), ", ")))
		default:
			if err := setFromNode(field, v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d:%d: key %q: %w", file, v.Line, v.Column, key, err))
			}
		}
	}
	return errs
}

// lookup finds the field at path, or reports that path names a section.
func (b *Binding) lookup(path []string) (field *Field, section bool) {
	for _, f := range b.fields {
		if slices.Equal(f.Path, path) {
			return f, false
		}
		if len(f.Path) > len(path) && slices.Equal(f.Path[:len(path)], path) {
			section = true
		}
	}
	return nil, section
}

func (b *Binding) keysUnder(path []string) []string {
	var keys []string
	for _, f := range b.fields {
		if len(f.Path) > len(path) && slices.Equal(f.Path[:len(path)], path) && !slices.Contains(keys, f.Path[len(path)]) {
			keys = append(keys, f.Path[len(path)])
		}
	}
	return keys
}

func setFromNode(f *Field, v *yaml.Node) error {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil // "key:" with no value keeps the default
	}
	if f.value.Kind() == reflect.Slice {
		if v.Kind != yaml.SequenceNode {
			return fmt.Errorf("expected a list of strings, got %s", kindName(v))
		}
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return fmt.Errorf("expected a list of strings, got %s at line %d", kindName(it), it.Line)
			}
			items = append(items, it.Value)
		}
		f.value.Set(reflect.ValueOf(items))
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s, got %s", expected(f), kindName(v))
	}
	if err := f.flag.Value.Set(v.Value); err != nil {
		return fmt.Errorf("%s, got %q", expected(f), v.Value)
	}
	return nil
}

func expected(f *Field) string {
	switch f.value.Addr().Interface().(type) {
	case *bool:
		return "expected true or false"
	case *int, *int64:
		return "expected an integer"
	case *float64:
		return "expected a number"
	case *time.Duration:
		return "expected a duration such as 500ms, 30s or 5m"
	case *[]string:
		return "expected a comma-separated list"
	default:
		return "expected a string"
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func splitList(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.TrimLeadingSpace = true
	items, err := r.Read()
	if err == io.EOF {
		return nil, nil
	}
	return items, err
}

// Redacted is what Print shows instead of a secret's value.
const Redacted = "[redacted]"

// Print writes the effective configuration as YAML that Load accepts, each
// key annotated with its flag and environment variable, secrets redacted.
func (b *Binding) Print(w io.Writer) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range b.fields {
		m := root
		for _, k := range f.Path[:len(f.Path)-1] {
			m = childMapping(m, k)
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: f.Path[len(f.Path)-1]}
		var val yaml.Node
		switch {
		case f.Secret && !f.value.IsZero():
			val = yaml.Node{Kind: yaml.ScalarNode, Value: Redacted}
		case f.value.Kind() == reflect.Slice:
			val = yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, s := range f.value.Interface().([]string) {
				val.Content = append(val.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
			}
		default:
			val = yaml.Node{Kind: yaml.ScalarNode, Value: f.flag.Value.String()}
			if f.value.Kind() == reflect.String {
				val.Tag = "!!str" // so that "", "no" or "8080" stay strings
			}
		}
		val.LineComment = fmt.Sprintf("--%s, %s", f.Flag, f.Env)
		m.Content = append(m.Content, key, &val)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

func childMapping(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	c := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, c)
	return c
}
