package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/store"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "print a stream's figures: records, bytes, indices, tags",
		ArgsUsage: "STREAM",
		Description: `Prints what the mount's stat.json holds: the number of records and bytes,
each index with its first and last value, each tag with its record count,
and whether the stream is live or archived.`,
		Flags: append([]cli.Flag{
			liveFlag,
			&cli.BoolFlag{Name: "json", Usage: "print stat.json itself"},
		}, s3Flags...),
		Action: runInfo,
	}
}

func runInfo(ctx context.Context, cmd *cli.Command) error {
	s, done, err := openStream(ctx, cmd)
	if err != nil {
		return err
	}
	defer done()
	st, err := s.Stat()
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	kind := "archived"
	if st.Live {
		kind = "live"
	}
	fmt.Fprintf(tw, "stream\t%s (%s)\n", st.Source, kind)
	fmt.Fprintf(tw, "records\t%d\n", st.Records)
	fmt.Fprintf(tw, "bytes\t%d\n", st.Bytes)
	for _, ix := range st.Indices {
		name := store.IndexPathName(ix.Name) // franz's unnamed index shows as %
		switch {
		case ix.First == nil:
			fmt.Fprintf(tw, "index %s\tno values\n", name)
		case !ix.Sorted: // first and last are not the least and most
			fmt.Fprintf(tw, "index %s\tfirst %s, last %s, not sorted\n", name, indexValue(ix.Name, *ix.First), indexValue(ix.Name, *ix.Last))
		default:
			fmt.Fprintf(tw, "index %s\t%s to %s\n", name, indexValue(ix.Name, *ix.First), indexValue(ix.Name, *ix.Last))
		}
	}
	for _, tag := range st.Tags {
		fmt.Fprintf(tw, "tag %s\t%d records\n", tag.Name, tag.Records)
	}
	return tw.Flush()
}

func indexValue(index string, v int64) string {
	if index == store.TimeIndex {
		return fmt.Sprintf("%d (%s)", v, time.Unix(0, v).UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprint(v)
}
