package main

import (
	"github.com/p1ctl/p1ctl/schema"
	"github.com/spf13/cobra"
)

func init() {
	register(func(f *factory) *cobra.Command { return newSchemaCmd(f, nil) })
}

type schemaOptions struct {
	IO *iostreams
}

func newSchemaCmd(f *factory, runF func(*schemaOptions) error) *cobra.Command {
	opts := &schemaOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of manifests",
		Long: `Schema prints the JSON Schema (draft 2020-12) that manifests follow, as
built into this p1ctl. Editors use it to complete and check manifests; point
yours at it with a first line such as

  # yaml-language-server: $schema=` + schema.URL + `

or save the output and refer to the file. p1ctl validate checks the same
schema and more.`,
		Example: `  # Save the schema next to your manifests
  p1ctl schema > manifest.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return schemaRun(opts)
		},
	}
}

func schemaRun(opts *schemaOptions) error {
	_, err := opts.IO.Out.Write(schema.JSON())
	return err
}
