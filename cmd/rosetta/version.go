package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"rosetta/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and the CPU features the kernels use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in := buildinfo.Get()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(in)
			}
			commit := in.Commit
			if commit == "" {
				commit = "unknown"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rosetta %s (commit %s, %s, %s/%s)\nkernels: %s; cpu: %s\n",
				in.Version, commit, in.GoVersion, in.OS, in.Arch, in.Kernels, strings.Join(in.CPU, " "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as one JSON object")
	return cmd
}
