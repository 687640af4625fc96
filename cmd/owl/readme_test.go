package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/owlstack/owl/internal/config"
)

// TestREADMEDocumentsEverySetting keeps the configuration reference honest:
// every setting of every target appears in the README with its flag and
// environment variable.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets() {
		b := config.Bind(pflag.NewFlagSet(tg.name, pflag.ContinueOnError), tg.newConfig())
		for _, f := range b.Fields() {
			row := "| `" + f.Key() + "` | `--" + f.Flag + "` | `" + f.Env + "` |"
			if !strings.Contains(string(readme), row) {
				t.Errorf("README.md lacks the row for setting %s of target %s: %s", f.Key(), tg.name, row)
			}
		}
	}
}
