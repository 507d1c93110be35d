package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/store"
)

func readCommand() *cli.Command {
	return &cli.Command{
		Name:      "read",
		Usage:     "print a stream's records, as the franz CLI does",
		ArgsUsage: "STREAM",
		Description: `Prints the payloads of STREAM's records, concatenated as stored. STREAM is
a stream directory, a name under --live, or an archive: IMAGE.squashfs (an
image of one stream) or IMAGE.squashfs/NAME.

-r takes record numbers as the mount's seq/ does (A:B both included, -N from
the end, either end open); with --index NAME it takes values of that index,
and for the time index RFC 3339 times and durations back from now.

   franzfs read -r -10: /srv/live/app/events          the last ten records
   franzfs read --index time -r -15m: --follow ev     the last 15 minutes, then new ones
   franzfs read --framed ev | franz-consumer          8-byte little-endian length before each

From a franzd (or franzfs serve --franzd), as the franz CLI reads:

   franzfs read franz://HOST[:PORT]/DIR STREAM [-r A:B]... [--index NAME] [--follow]

Each -r is one query; a range that names records not yet written waits for
them up to --timeout, then is skipped. --follow then prints the records
that come after the last one printed, until Ctrl-C.`,
		Flags: append([]cli.Flag{
			liveFlag,
			serverFlag,
			&cli.StringSliceFlag{Name: "range", Aliases: []string{"r"}, Usage: "`A:B`: the records to print (a single N is one record; repeated, each in turn; all if none)"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "from franz://: how long a range may wait for records it names, before it is skipped (as the franz CLI does)"},
			&cli.StringFlag{Name: "index", Usage: "read -r as values of index `NAME`, not record numbers"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing records as they arrive, until the range is complete or Ctrl-C"},
			&cli.BoolFlag{Name: "framed", Usage: "write each record's length as an 8-byte little-endian word before it"},
		}, s3Flags...),
		Action: runRead,
	}
}

func runRead(ctx context.Context, cmd *cli.Command) error {
	if strings.HasPrefix(cmd.Args().First(), franzScheme) {
		return endOfFollow(ctx, cmd, readFranz(ctx, cmd))
	}
	ranges := cmd.StringSlice("range")
	var p store.Path
	var err error
	switch {
	case len(ranges) == 0:
		p, err = store.ParseSeq(":")
	case cmd.IsSet("index") && len(ranges) > 1:
		return usageError("--index takes one -r range")
	case cmd.IsSet("index"): // franz's unnamed index is --index ''
		p, err = store.ParseIndexRange(cmd.String("index"), ranges[0], time.Now())
	default: // ranges in turn: a list, as in seq/1:3,7
		p, err = store.ParseSeq(strings.Join(ranges, ","))
	}
	if err != nil {
		return err
	}
	if cmd.String("server") != "" {
		name, err := oneArg(cmd, "STREAM")
		if err != nil {
			return err
		}
		return endOfFollow(ctx, cmd, readRemote(ctx, cmd, name, p.String()))
	}
	s, done, err := openStream(ctx, cmd)
	if err != nil {
		return err
	}
	defer done()
	v, err := s.View(p)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	framed := cmd.Bool("framed")
	emit := func(_ int64, p *store.Payload) error {
		if err := ctx.Err(); err != nil {
			return err // Ctrl-C or SIGTERM, however long the read
		}
		if framed {
			out.Write(binary.LittleEndian.AppendUint64(nil, uint64(p.Len())))
		}
		_, err := p.WriteTo(out)
		return err
	}
	return endOfFollow(ctx, cmd, s.ScanFollow(ctx, v, 0, cmd.Bool("follow"), emit, out.Flush))
}

// endOfFollow makes Ctrl-C the normal end of --follow; a read without it
// that a signal stops short fails.
func endOfFollow(ctx context.Context, cmd *cli.Command, err error) error {
	switch {
	case err == nil || ctx.Err() == nil:
		return err
	case cmd.Bool("follow"):
		return nil
	}
	return ctx.Err() // however the read noticed it
}
