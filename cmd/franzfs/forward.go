package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/client"
	"github.com/franzfs/franzfs/forward"
)

func forwardCommand() *cli.Command {
	return &cli.Command{
		Name:      "forward",
		Usage:     "follow a stream on one daemon and append a sample of it to another",
		ArgsUsage: "STREAM [TARGET]",
		Description: `Follows STREAM on the daemon at --from and appends to TARGET (STREAM if not
given) on the daemon at --to every record, every Nth (--every N: records
0, N, 2N, ...), or the first record of each time bucket (--bucket 1m),
with its index values and tags. Runs until Ctrl-C or SIGTERM.

The target keeps each record's number in the source as its index "src":
started again, forward resumes just after the last record the target holds,
so nothing is skipped and nothing sent twice. If either daemon fails, or
the source stream does not exist yet, it starts over after --retry; a
refusal (4xx) ends it. FRANZFS_TOKEN, if set,
is sent to both.

   franzfs forward --from http://remote:7070 --to http://gateway:7070 --every 10 sensors/room1
   franzfs forward --from franz://remote:1886/ --to http://gateway:7070 --bucket 1m sensors/room1

From a franzd (franz://), records come with their index values and no tags.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "the daemon to follow, as `URL`: http://HOST:PORT, or franz://HOST[:PORT]/DIR for a franzd"},
			&cli.StringFlag{Name: "to", Required: true, Usage: "the daemon to append to, as `URL`"},
			&cli.Int64Flag{Name: "every", Usage: "forward records whose number is a multiple of `N`"},
			&cli.DurationFlag{Name: "bucket", Usage: "forward the first record of each `DURATION` of the time index"},
			&cli.IntFlag{Name: "batch", Value: 1000, Usage: "most records sent in one append"},
			&cli.DurationFlag{Name: "retry", Value: time.Second, Usage: "wait before starting over after a daemon failed"},
		},
		Action: runForward,
	}
}

func runForward(ctx context.Context, cmd *cli.Command) error {
	if n := cmd.Args().Len(); n < 1 || n > 2 {
		return usageError("want STREAM [TARGET], got %d arguments (see franzfs forward --help)", n)
	}
	stream, target := cmd.Args().Get(0), cmd.Args().Get(1)
	if target == "" {
		target = stream
	}
	every, bucket := cmd.Int64("every"), cmd.Duration("bucket")
	switch {
	case every < 0:
		return usageError("--every %d: want a positive N", every)
	case bucket < 0:
		return usageError("--bucket %v: want a positive duration", bucket)
	case every > 0 && bucket > 0:
		return usageError("give --every or --bucket, not both")
	}
	token := os.Getenv("FRANZFS_TOKEN")
	var from forward.Source = forward.Daemon{Client: &client.Client{Base: cmd.String("from"), Token: token}}
	if strings.HasPrefix(cmd.String("from"), franzScheme) {
		addr, dir, err := parseFranzURL(cmd.String("from"))
		if err != nil {
			return err
		}
		from = forward.Franzd{Addr: addr, Dir: dir}
	}
	return forward.Run(ctx, forward.Config{
		From:   from,
		To:     &client.Client{Base: cmd.String("to"), Token: token},
		Stream: stream, Target: target,
		Sample: forward.Sampler{Every: every, Bucket: bucket},
		Batch:  int(cmd.Int("batch")),
		Retry:  cmd.Duration("retry"),
	})
}
