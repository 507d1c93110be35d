module github.com/franzfs/franzfs

go 1.26.8

require (
	github.com/fsnotify/fsnotify v1.10.1
	golang.org/x/sys v0.49.0
)

require github.com/urfave/cli/v3 v3.14.0

require github.com/hanwen/go-fuse/v2 v2.12.1
