package main

import (
	"github.com/spf13/cobra"
)

func newConfigCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRun,
	}
	print := &cobra.Command{
		Use:   "print [--target=NAME] [flags]",
		Short: "Print the effective configuration of a target as YAML, secrets redacted",
		Long: `Print the configuration a target would run with, after applying the
--config file, OWL_* environment variables and flags, as YAML that --config
accepts. Each key notes its flag and environment variable; secrets are
redacted. The target defaults to all (what 'owl up' runs).`,
		DisableFlagParsing: true,
	}
	print.RunE = func(cmd *cobra.Command, args []string) error {
		tf, err := parseTargetFlags(cmd, args, "all")
		if err != nil {
			return err
		}
		if tf.help {
			targetHelp(e.stdout, cmd, &tf.target)
			return nil
		}
		if err := tf.load(e); err != nil {
			return err
		}
		return tf.binding.Print(e.stdout)
	}
	cmd.AddCommand(print)
	return cmd
}
