package main

import (
	"context"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/bucket"
	"github.com/franzfs/franzfs/tree"
)

// Where archive images are: directories, and prefixes in object storage.
var (
	archiveFlag = &cli.StringSliceFlag{Name: "archive", Usage: "where archive images are, each NAME.squashfs shown as NAME: a `DIR`, or s3://BUCKET/PREFIX/; repeatable, and where two have a name the first given wins"}
	s3Flags     = []cli.Flag{
		&cli.StringFlag{Name: "s3-endpoint", Usage: "the `URL` of an S3-compatible store that is not AWS (default: AWS_ENDPOINT_URL, else AWS)"},
		&cli.BoolFlag{Name: "s3-path-style", Usage: "address buckets as ENDPOINT/BUCKET (most self-hosted stores want it; on by default with an endpoint)", Sources: cli.EnvVars("FRANZFS_S3_PATH_STYLE")},
		&cli.DurationFlag{Name: "s3-refresh", Value: bucket.DefaultRefresh, Usage: "list the images in a bucket again after `DURATION`: new, replaced and deleted objects show up within it"},
		&cli.DurationFlag{Name: "s3-timeout", Value: bucket.DefaultTimeout, Usage: "longest time for one request to the store, retries included"},
		&cli.Int64Flag{Name: "s3-cache", Value: bucket.DefaultCacheBytes, Usage: "most `BYTES` of a bucket's objects kept in memory, shared by its images"},
	}
)

// s3Options are the object storage flags.
func s3Options(cmd *cli.Command) bucket.Options {
	o := bucket.Options{Endpoint: cmd.String("s3-endpoint"), Refresh: cmd.Duration("s3-refresh"), Timeout: cmd.Duration("s3-timeout"), CacheBytes: cmd.Int64("s3-cache")}
	o.PathStyle = cmd.Bool("s3-path-style")
	if !cmd.IsSet("s3-path-style") {
		o.PathStyle = o.Endpoint != "" || hasEnv("AWS_ENDPOINT_URL")
	}
	return o
}

// An archive is one --archive: its images, and what franzd's clients name
// an image file by.
type archive interface {
	tree.Images
	File(file string) (tree.Source, bool, error)
}

// openArchives opens every --archive. A bucket is listed once now, so that
// a missing bucket or wrong credentials fail here, in one line.
func openArchives(ctx context.Context, cmd *cli.Command) ([]archive, error) {
	var out []archive
	for _, where := range cmd.StringSlice("archive") {
		if !bucket.IsURL(where) {
			if err := checkDir("archive directory", where); err != nil {
				return nil, err
			}
			out = append(out, tree.NewArchiveDir(where))
			continue
		}
		loc, err := bucket.ParseURL(where)
		if err != nil {
			return nil, err
		}
		s, err := bucket.Open(ctx, loc.Bucket, s3Options(cmd))
		if err != nil {
			return nil, err
		}
		lctx, cancel := context.WithTimeout(ctx, 2*cmd.Duration("s3-timeout"))
		im := s.Images(loc.Key)
		err = im.Check(lctx)
		cancel()
		if err != nil {
			return nil, err // it names the bucket and prefix
		}
		out = append(out, im)
	}
	return out, nil
}

// union shows the archives as one, the first given winning a name.
func union(archives []archive) tree.Images {
	switch len(archives) {
	case 0:
		return nil
	case 1:
		return archives[0]
	}
	u := make(tree.Union, len(archives))
	for i, a := range archives {
		u[i] = a
	}
	return u
}

func hasEnv(name string) bool { return os.Getenv(name) != "" }
