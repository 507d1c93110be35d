package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/franzd"
	"github.com/franzfs/franzfs/ingest"
	"github.com/franzfs/franzfs/internal/advice"
	"github.com/franzfs/franzfs/internal/fdlimit"
	"github.com/franzfs/franzfs/internal/readers"
	"github.com/franzfs/franzfs/store"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "the writer daemon: append to and read streams over HTTP",
		Description: `Serves the streams under --live (and the images in --archive, read-only)
over HTTP, on 127.0.0.1:7070 unless --listen or --unix says otherwise. A
stream is created on its first append, with the index time (Unix
nanoseconds at arrival) and any index the request names. See README.md for
the API; in short:

   curl --data-binary @event.json 'localhost:7070/streams/app/events?tag=error'
   curl --data-binary @log.txt 'localhost:7070/streams/app/log?lines'
   curl localhost:7070/streams/app/events/seq/-10:
   curl -N localhost:7070/streams/app/events/follow

With --franzd ADDR it also answers franz's own clients over franzd's
protocol, read-only: franz://HOST:PORT/DIR names the live directory DIR, or
the image DIR under --archive. That protocol has no authentication: ADDR
stays on loopback (":1886" is 127.0.0.1:1886) unless
--franzd-unauthenticated-remote says otherwise. --listen none serves no HTTP.

SIGTERM or Ctrl-C: stop accepting, answer what is in flight, flush, exit 0.`,
		Flags: append([]cli.Flag{
			liveFlag,
			archiveFlag,
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:7070", Usage: "TCP `ADDR` to listen on", Sources: cli.EnvVars("FRANZFS_LISTEN")},
			&cli.StringFlag{Name: "unix", Usage: "listen on the unix socket `PATH` instead"},
			&cli.StringFlag{Name: "sync", Value: "none", Usage: "when an append is answered: none (in the kernel), batch (on disk, fsyncs shared), always (on disk)"},
			&cli.StringFlag{Name: "token-file", Usage: "require \"Authorization: Bearer TOKEN\", TOKEN read from `FILE`; needed beyond loopback"},
			&cli.Int64Flag{Name: "max-body", Value: ingest.DefaultMaxBody, Usage: "largest request body, in bytes (413 beyond)"},
			&cli.Int64Flag{Name: "max-record", Value: ingest.DefaultMaxRecord, Usage: "largest record, in bytes (413 beyond)"},
			&cli.IntFlag{Name: "max-conns", Value: ingest.DefaultMaxConns, Usage: "most connections open at once; past it the longest idle one is closed"},
			&cli.DurationFlag{Name: "idle-timeout", Value: ingest.DefaultIdleTimeout, Usage: "close a keep-alive connection after `DURATION` without a request"},
			&cli.DurationFlag{Name: "body-timeout", Value: ingest.DefaultBodyTimeout, Usage: "longest time to read a request body (408 beyond)"},
			&cli.Int64Flag{Name: "body-memory", Value: ingest.DefaultBodyMemory, Usage: "most bytes of request bodies held at once (503 beyond)"},
			&cli.IntFlag{Name: "max-writers", Value: ingest.DefaultMaxWriters, Usage: "most streams held open for appending; past it the one idle the longest is closed"},
			&cli.IntFlag{Name: "max-readers", Value: readers.DefaultMax, Usage: "most streams kept open for reading between requests; past it the one used least recently is closed"},
			&cli.IntFlag{Name: "max-request-tags", Value: ingest.DefaultMaxRequestTags, Usage: "most distinct tags in one append request (400 beyond)"},
			&cli.StringFlag{Name: "franzd", Usage: "also answer franz clients (franzd's protocol, read-only) on TCP `ADDR`, loopback unless said otherwise (\":1886\" is 127.0.0.1:1886)"},
			&cli.BoolFlag{Name: "franzd-unauthenticated-remote", Usage: "let --franzd listen beyond loopback: the protocol has no authentication, anyone who reaches it reads every stream"},
			&cli.IntFlag{Name: "franzd-max-conns", Value: franzd.DefaultMaxConns, Usage: "most franz connections at once; one past it is refused"},
			&cli.IntFlag{Name: "franzd-max-waiting", Value: franzd.DefaultMaxWaiting, Usage: "most requests one franz connection may have waiting for records"},
			&cli.IntFlag{Name: "franzd-max-waiting-total", Value: franzd.DefaultMaxWaitingTotal, Usage: "most requests all franz connections may have waiting for records"},
			&cli.DurationFlag{Name: "idle-close", Value: ingest.DefaultIdleClose, Usage: "close a stream's writer, releasing its lock, after `DURATION` without appends (negative: never)"},
		}, s3Flags...),
		Action: runServe,
	}
}

func runServe(ctx context.Context, cmd *cli.Command) error {
	if cmd.String("live") == "" {
		return usageError("serve needs --live DIR")
	}
	if err := checkDirs(cmd.String("live")); err != nil {
		return err
	}
	archives, err := openArchives(ctx, cmd)
	if err != nil {
		return err
	}
	sync, err := store.ParseSync(cmd.String("sync"))
	if err != nil {
		return usageError("%v", err)
	}
	token, err := readToken(cmd.String("token-file"))
	if err != nil {
		return err
	}
	fdlimit.Raise()
	var fln net.Listener
	if addr := cmd.String("franzd"); addr != "" {
		if fln, err = listenFranzd(addr, cmd.Bool("franzd-unauthenticated-remote")); err != nil {
			return err
		}
		defer fln.Close()
	}
	var ln net.Listener
	if cmd.String("listen") != "none" || cmd.String("unix") != "" {
		if ln, err = listen(cmd.String("listen"), cmd.String("unix"), token != ""); err != nil {
			return err
		}
	} else if fln == nil {
		return usageError("--listen none and no --franzd: nothing to serve")
	}
	srv, err := ingest.New(ingest.Config{
		Live: cmd.String("live"), Images: union(archives), Archive: cmd.StringSlice("archive"), Sync: sync, Token: token,
		MaxBody: cmd.Int64("max-body"), MaxRecord: cmd.Int64("max-record"), IdleClose: cmd.Duration("idle-close"),
		BodyMemory: cmd.Int64("body-memory"), BodyTimeout: cmd.Duration("body-timeout"),
		MaxWriters: cmd.Int("max-writers"), MaxRequestTags: cmd.Int("max-request-tags"), MaxReaders: cmd.Int("max-readers"),
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	if fln != nil {
		fsrv, err := newFranzd(cmd, archives)
		if err != nil {
			srv.Close()
			return err
		}
		defer fsrv.Close()
		go fsrv.Serve(fln)
	}
	if ln == nil {
		fmt.Printf("franzd: %s\n", fln.Addr())
		<-ctx.Done()
		return srv.Close()
	}
	// Requests' contexts end when shutdown begins: follows return, while
	// appends in flight are answered.
	base, endRequests := context.WithCancel(context.Background())
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: ingest.DefaultHeaderTimeout, IdleTimeout: cmd.Duration("idle-timeout"),
		MaxHeaderBytes: 64 << 10, BaseContext: func(net.Listener) context.Context { return base }}
	ingest.LimitConns(hs, cmd.Int("max-conns"))
	hs.RegisterOnShutdown(endRequests)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Printf("ready: %s\n", ln.Addr())
	if fln != nil {
		fmt.Printf("franzd: %s\n", fln.Addr())
	}
	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish (follows end with the
	// context), then flush and close the writers.
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	return errors.Join(err, srv.Close())
}

// listen opens the TCP or unix listener. Beyond loopback a token is required.
func listen(addr, unixPath string, haveToken bool) (net.Listener, error) {
	if unixPath != "" {
		// Only a stale socket is removed: anything else at PATH is kept.
		if fi, err := os.Lstat(unixPath); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if c, err := net.Dial("unix", unixPath); err == nil {
				c.Close()
				return nil, advice.New(syscall.EADDRINUSE, "socket %s is in use: is a franzfs serve running already? Stop it, or give --unix another path", unixPath)
			}
			os.Remove(unixPath)
		}
		ln, err := net.Listen("unix", unixPath)
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, advice.New(syscall.EADDRINUSE, "%s exists and is not a socket: remove it, or give --unix another path", unixPath)
		}
		return ln, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageError("--listen %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !haveToken {
		return nil, usageError("--listen %s is beyond loopback: give --token-file", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, advice.New(syscall.EADDRINUSE, "address %s is in use: is a franzfs serve running already? Stop it, or give --listen another port", addr)
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// readToken reads the bearer token from file, which, as ssh does for keys,
// must not be readable by others than its owner.
func readToken(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", advice.New(fs.ErrPermission, "token file %s is readable by others (mode %04o): chmod 600 %s", file, fi.Mode().Perm(), file)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", usageError("token file %s is empty", file)
	}
	return token, nil
}

// listenFranzd opens the franzd listener: ADDR, :PORT or PORT, on loopback
// unless remote is allowed.
func listenFranzd(addr string, remote bool) (net.Listener, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageError("--franzd %q: %v", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !remote {
		return nil, usageError("--franzd %s is beyond loopback, and franz's protocol has no authentication: give --franzd-unauthenticated-remote if every client that can reach it may read every stream", addr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, advice.New(syscall.EADDRINUSE, "address %s is in use: is a franzd running already? Stop it, or give --franzd another port", addr)
	}
	return ln, err
}

func newFranzd(cmd *cli.Command, archives []archive) (*franzd.Server, error) {
	root, err := store.OpenRoot(cmd.String("live"))
	if err != nil {
		return nil, err
	}
	cfg := franzd.Config{Live: root, MaxConns: cmd.Int("franzd-max-conns"), MaxWaiting: cmd.Int("franzd-max-waiting"), MaxWaitingTotal: cmd.Int("franzd-max-waiting-total"), MaxReaders: cmd.Int("max-readers")}
	for _, a := range archives {
		cfg.Archives = append(cfg.Archives, a)
	}
	return franzd.NewServer(cfg), nil
}
