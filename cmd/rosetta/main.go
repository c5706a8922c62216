// Command rosetta is the Rosetta multimodal embedding search database: one
// binary with the server, the bulk ingest CLI and the benchmark harness.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"rosetta/engine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		// Printed once, here, without the packages' sentinel prefixes.
		fmt.Fprintln(os.Stderr, "rosetta:", engine.Message(err))
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "rosetta",
		Short:         "Multimodal embedding search database",
		Long:          "Rosetta encodes images, text and audio in-process, stores them durably and answers cross-modal vector queries.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newIngestCmd(), newSearchCmd(), newModelsCmd(), newBenchCmd(), newEncodeCmd(), newClassifyCmd(), newCaptionCmd(), newTranscribeCmd(), newVersionCmd())
	return root
}
