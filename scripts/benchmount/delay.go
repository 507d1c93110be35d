package main

import (
	"net"
	"time"
)

// delayProxy forwards TCP connections from a loopback port to target, each
// byte delivered d after it arrived, both ways: a store with a round trip
// of 2d, as a store across a network has, on a machine without netem. It
// returns the proxy's address.
func delayProxy(target string, d time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go delayLine(c, s, d)
			go delayLine(s, c, d)
		}
	}()
	return ln.Addr().String()
}

// delayLine copies from src to dst, holding each read for d; reads keep
// coming meanwhile, so the delay costs no throughput.
func delayLine(src, dst net.Conn, d time.Duration) {
	type piece struct {
		at   time.Time
		data []byte
	}
	q := make(chan piece, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- piece{time.Now().Add(d), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for p := range q {
		time.Sleep(time.Until(p.at))
		if _, err := dst.Write(p.data); err != nil {
			break
		}
	}
	dst.(*net.TCPConn).CloseWrite()
	for range q {
	}
}
