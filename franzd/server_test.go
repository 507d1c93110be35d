package franzd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// testServer serves live (and archive, if not "") on a loopback port.
func testServer(t *testing.T, live, archive string) string {
	t.Helper()
	root, err := os.OpenRoot(live)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Live: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxWaiting: 200}
	if archive != "" {
		cfg.Archives = []Archive{tree.NewArchiveDir(archive)}
	}
	srv := NewServer(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ln.Close()
		srv.Close()
		root.Close()
	})
	return ln.Addr().String()
}

func le(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// franzStream writes a stream as franz's writer lays it out: each record
// as its payload and its values.
func franzStream(t *testing.T, dir, indices string, payloads []string, values ...[]int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var p, o []byte
	for i, payload := range payloads {
		p = append(p, payload...)
		o = append(o, le(int64(len(p)))...)
		o = append(o, le(values[i]...)...)
	}
	for name, data := range map[string][]byte{"indices": []byte(indices), "payloads": p, "offsets": o} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// franzAppend appends records as franz's writer does: payloads first.
func franzAppend(t *testing.T, dir string, payloads []string, values ...[]int64) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "payloads"))
	if err != nil {
		t.Fatal(err)
	}
	end := fi.Size()
	var p, o []byte
	for i, payload := range payloads {
		p = append(p, payload...)
		o = append(o, le(end+int64(len(p)))...)
		o = append(o, le(values[i]...)...)
	}
	appendTo(t, filepath.Join(dir, "payloads"), p)
	appendTo(t, filepath.Join(dir, "offsets"), o)
}

func appendTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

// rawConn speaks the protocol byte by byte, as a test of the server must.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr, dir string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute)) // a hang fails the test, it does not stall it
	c := &rawConn{t, nc, bufio.NewReader(nc)}
	c.write(appendBytes(nil, dir))
	if b, err := c.r.ReadByte(); err != nil || b != '0' {
		t.Fatalf("handshake answered %q, %v", b, err)
	}
	return c
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) ask(id int64, q Query) { c.t.Helper(); c.write(appendQuery(nil, id, q)) }

// got is one frame as read: its kind, id, and a Response's records.
type got struct {
	tag     byte
	id      int64
	h       Header
	tuples  []byte
	payload []byte
	err     *Exception
}

func (c *rawConn) frame() got {
	c.t.Helper()
	d := decoder{c.r}
	var g got
	var err error
	if g.tag, err = d.byte(); err == nil {
		g.id, err = d.int()
	}
	if err == nil {
		switch g.tag {
		case tagError:
			g.err, err = d.exception()
		case tagResponse:
			if g.h, err = d.header(); err == nil && g.h.Records() > 0 {
				g.tuples = make([]byte, g.h.Records()*int64(8*(1+len(g.h.Indices))))
				if _, err = io.ReadFull(c.r, g.tuples); err == nil {
					last := int64(binary.LittleEndian.Uint64(g.tuples[len(g.tuples)-8*(1+len(g.h.Indices)):]))
					g.payload = make([]byte, last-g.h.P0)
					_, err = io.ReadFull(c.r, g.payload)
				}
			}
		}
	}
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return g
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The byte layouts of FRANZD.md sections 4 and 5.3, exactly.
func TestWorkedBytes(t *testing.T) {
	for _, c := range []struct {
		got  []byte
		want string
	}{
		{appendQuery(nil, 0, Query{Stream: "s3", From: BySeqNum(1), To: BySeqNum(2)}),
			"00 0000000000000000 0000000000000002 7333 00 0000000000000001 00 0000000000000002 00"},
		{appendQuery(nil, 5, Query{Stream: "s3", From: ByIndex("temp", 21), To: BySeqNum(-1), Type: LastItem}),
			"00 0000000000000005 0000000000000002 7333 01 0000000000000004 74656d70 0000000000000015 00 ffffffffffffffff 01"},
		{appendClean(nil, 7), "01 0000000000000007"},
	} {
		if want := unhex(c.want); !bytes.Equal(c.got, want) {
			t.Errorf("encoded % x\nwant       % x", c.got, want)
		}
	}

	live := t.TempDir()
	time1, time2 := int64(binary.LittleEndian.Uint64(unhex("22ccb5f55894ec18"))), int64(binary.LittleEndian.Uint64(unhex("68ccb5f55894ec18")))
	franzStream(t, filepath.Join(live, "s3"), "time\ntemp\n", []string{"a\n", "b\n", "c\n"}, []int64{time1 - 1, 20}, []int64{time1, 21}, []int64{time2, 21})
	c := dialRaw(t, testServer(t, live, ""), "")
	c.write(unhex("00 0000000000000000 0000000000000002 7333 00 0000000000000001 00 0000000000000002 00"))
	want := unhex(`00 0000000000000000
		0000000000000000 0200000000000000 0200000000000000 0000000000000002
		0000000000000004 74696d65 0000000000000004 74656d70
		0400000000000000 22ccb5f55894ec18 1500000000000000
		0600000000000000 68ccb5f55894ec18 1500000000000000
		620a 630a`)
	answer := make([]byte, len(want))
	if _, err := io.ReadFull(c.r, answer); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(answer, want) {
		t.Fatalf("answer % x\nwant   % x", answer, want)
	}
	// An empty LastItem answer is the header alone: -1, -1, 0.
	c.ask(9, Query{Stream: "s3", From: BySeqNum(2), To: BySeqNum(1), Type: LastItem})
	want = unhex(`00 0000000000000009 ffffffffffffffff ffffffffffffffff 0000000000000000 0000000000000002
		0000000000000004 74696d65 0000000000000004 74656d70`)
	answer = make([]byte, len(want))
	if _, err := io.ReadFull(c.r, answer); err != nil || !bytes.Equal(answer, want) {
		t.Fatalf("empty answer % x, %v\nwant         % x", answer, err, want)
	}
}

// records lists the payloads of a Response frame.
func records(g got) []string {
	var out []string
	width := 8 * (1 + len(g.h.Indices))
	start := g.h.P0
	for i := 0; i < len(g.tuples); i += width {
		end := int64(binary.LittleEndian.Uint64(g.tuples[i:]))
		out = append(out, string(g.payload[start-g.h.P0:end-g.h.P0]))
		start = end
	}
	return out
}

func seq(n int64) ItemRef              { return BySeqNum(n) }
func idx(v int64) ItemRef              { return ByIndex("", v) }
func tens(n int) ([]string, [][]int64) { return numbered(n, 10) }

// numbered is n records "r0\n".. with index values step*i.
func numbered(n int, step int64) ([]string, [][]int64) {
	var p []string
	var v [][]int64
	for i := range n {
		p = append(p, fmt.Sprintf("r%d\n", i))
		v = append(v, []int64{step * int64(i)})
	}
	return p, v
}

func rs(nums ...int) []string {
	var out []string
	for _, i := range nums {
		out = append(out, fmt.Sprintf("r%d\n", i))
	}
	return out
}

// Every row of FRANZD.md section 6.2's examples table, on a stream with
// franz's unnamed index.
func TestExamplesTable(t *testing.T) {
	live := t.TempDir()
	p, v := tens(10)
	franzStream(t, filepath.Join(live, "ten"), "\n", p, v...)
	franzStream(t, filepath.Join(live, "empty"), "\n", nil)
	p, v = tens(4)
	franzStream(t, filepath.Join(live, "four"), "\n", p, v...)
	p, v = tens(3)
	franzStream(t, filepath.Join(live, "three"), "\n", p, v...)
	franzStream(t, filepath.Join(live, "hundreds"), "\n", rs(0, 1), []int64{100}, []int64{200})
	c := dialRaw(t, testServer(t, live, ""), "")

	now := []struct {
		stream   string
		typ      RequestType
		from, to ItemRef
		want     []string
		s0, s1   int64
	}{
		{"ten", AllItems, seq(1), seq(3), rs(1, 2, 3), 0, 3},
		{"ten", AllItems, idx(15), idx(15), nil, 1, 1},
		{"ten", AllItems, idx(15), idx(25), rs(2), 1, 2},
		{"ten", AllItems, idx(10), idx(20), rs(1, 2), 0, 2},
		{"ten", FirstItem, idx(15), idx(45), rs(2), 1, 2},
		{"ten", LastItem, idx(10), idx(45), rs(4), 3, 4},
		{"ten", AllItems, seq(1), seq(0), nil, 0, 0},
		{"ten", AllItems, seq(-100), seq(1), rs(0, 1), -1, 1},
		{"ten", LastItem, seq(-100), seq(1), rs(1), 0, 1},
		{"ten", FirstItem, seq(-100), seq(1), rs(0), -1, 0},
		{"ten", AllItems, seq(-2), seq(-1), rs(8, 9), 7, 9},
	}
	for i, q := range now {
		c.ask(int64(i), Query{q.stream, q.from, q.to, q.typ})
		g := c.frame()
		if g.tag != tagResponse || g.id != int64(i) || g.h.S0 != q.s0 || g.h.S1 != q.s1 || !equal(records(g), q.want) {
			t.Errorf("row %d %+v: frame %d id %d s0 %d s1 %d records %q", i, q, g.tag, g.id, g.h.S0, g.h.S1, records(g))
		}
	}

	// Queries that wait: ResponseWait at once, the Response after appends.
	waits := []struct {
		stream   string
		typ      RequestType
		from, to ItemRef
		add      []string
		values   [][]int64
		want     []string
	}{
		{"ten", LastItem, seq(10), seq(-1), rs(10), [][]int64{{100}}, rs(10)},
		{"empty", AllItems, seq(0), seq(-1), rs(0), [][]int64{{0}}, rs(0)},
		{"four", AllItems, seq(4), seq(5), rs(4, 5, 6), [][]int64{{40}, {50}, {60}}, rs(4, 5)},
		{"hundreds", AllItems, idx(250), seq(-1), rs(2), [][]int64{{300}}, rs(2)},
	}
	for i, q := range waits {
		id := int64(100 + i)
		c.ask(id, Query{q.stream, q.from, q.to, q.typ})
		if g := c.frame(); g.tag != tagWait || g.id != id {
			t.Fatalf("wait %d: frame %d id %d, want ResponseWait", i, g.tag, g.id)
		}
		franzAppend(t, filepath.Join(live, q.stream), q.add, q.values...)
		if g := c.frame(); g.tag != tagResponse || g.id != id || !equal(records(g), q.want) {
			t.Errorf("wait %d %+v: frame %d id %d records %q, want %q", i, q, g.tag, g.id, records(g), q.want)
		}
	}
	// These wait for records that do not come: ResponseWait, and nothing
	// else (the next frame answers the next request).
	for i, q := range []Query{
		{"three", seq(0), seq(100), AllItems},
		{"hundreds", seq(0), idx(50), AllItems},
	} {
		id := int64(200 + i)
		c.ask(id, q)
		if g := c.frame(); g.tag != tagWait || g.id != id {
			t.Fatalf("%+v: frame %d id %d, want ResponseWait", q, g.tag, g.id)
		}
	}
	c.ask(300, Query{"ten", seq(0), seq(0), AllItems})
	if g := c.frame(); g.tag != tagResponse || g.id != 300 {
		t.Fatalf("frame %d id %d, want Response 300", g.tag, g.id)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

// Errors answer the request and keep the connection; input that does not
// decode ends it with id -1. No error names a server path.
func TestErrors(t *testing.T) {
	live := t.TempDir()
	franzStream(t, filepath.Join(live, "app", "s"), "a\nb\n", rs(0), []int64{1, 2})
	addr := testServer(t, live, "")
	c := dialRaw(t, addr, "app")
	for i, c2 := range []struct {
		q    Query
		kind ExceptionKind
		text string
	}{
		{Query{Stream: "nosuch", From: seq(0), To: seq(0)}, StreamNotFound, "app/nosuch"},
		{Query{Stream: "../../etc", From: seq(0), To: seq(0)}, StreamNotFound, "app/../../etc"},
		{Query{Stream: "/etc", From: seq(0), To: seq(0)}, StreamNotFound, "app//etc"},
		{Query{Stream: "s", From: ByIndex("c", 1), To: seq(0)}, IndexNotFound, ""},
	} {
		c.ask(int64(i), c2.q)
		g := c.frame()
		if g.tag != tagError || g.id != int64(i) || g.err.Kind != c2.kind || g.err.Text != c2.text {
			t.Errorf("%+v: frame %d id %d %v", c2.q, g.tag, g.id, g.err)
		}
		if strings.Contains(fmt.Sprint(g.err), live) {
			t.Errorf("%+v: %v names the server's path", c2.q, g.err)
		}
		if c2.kind == IndexNotFound && (g.err.Index != "c" || !equal(g.err.Indices, []string{"a", "b"})) {
			t.Errorf("IndexNotFound %q %q", g.err.Index, g.err.Indices)
		}
	}
	c.ask(9, Query{Stream: "s", From: seq(0), To: seq(0)})
	if g := c.frame(); g.tag != tagResponse || !equal(records(g), rs(0)) {
		t.Fatalf("after errors: frame %d %q", g.tag, records(g))
	}
	// A handshake naming no directory that exists is accepted.
	c2 := dialRaw(t, addr, "nosuch/dir")
	c2.ask(1, Query{Stream: "s", From: seq(0), To: seq(0)})
	if g := c2.frame(); g.tag != tagError || g.err.Kind != StreamNotFound || g.err.Text != "nosuch/dir/s" {
		t.Fatalf("stream in a missing dir: %d %v", g.tag, g.err)
	}
	for _, bad := range [][]byte{
		{9}, // no such request
		unhex("00 0000000000000001 0000000000000001 73 07"),                                         // no such ItemRef
		unhex("00 0000000000000001 0000000000000001 73 00 0000000000000000 00 0000000000000000 03"), // no such RequestType
		unhex("00 0000000000000001 7fffffffffffffff"),                                               // a name of 2^63 bytes
	} {
		c := dialRaw(t, addr, "")
		c.write(bad)
		if g := c.frame(); g.tag != tagError || g.id != -1 || g.err.Kind != MalformedRequest {
			t.Errorf("% x: frame %d id %d %v", bad, g.tag, g.id, g.err)
		}
		if _, err := c.r.ReadByte(); err != io.EOF {
			t.Errorf("% x: connection not closed: %v", bad, err)
		}
	}
	// A truncated handshake.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(unhex("0000000000000005 6162"))
	nc.(*net.TCPConn).CloseWrite()
	r := &rawConn{t, nc, bufio.NewReader(nc)}
	if g := r.frame(); g.tag != tagError || g.id != -1 || g.err.Kind != MalformedRequest || g.err.Text != "Expecting a path" {
		t.Errorf("truncated handshake: %d %d %v", g.tag, g.id, g.err)
	}
}

// A cancelled request gets no frame, even when records come for it; many
// requests in flight are answered by id.
func TestCancelAndManyInFlight(t *testing.T) {
	live := t.TempDir()
	dir := filepath.Join(live, "s")
	p, v := tens(3)
	franzStream(t, dir, "\n", p, v...)
	c := dialRaw(t, testServer(t, live, ""), "")
	c.ask(1, Query{Stream: "s", From: seq(3), To: seq(3)})
	if g := c.frame(); g.tag != tagWait || g.id != 1 {
		t.Fatalf("frame %d id %d", g.tag, g.id)
	}
	c.write(appendClean(nil, 1))
	c.write(appendClean(nil, 12345)) // unknown ids are ignored
	// The cancel is handled before the next request is read: after the
	// append, the next frame is that request's answer.
	c.ask(2, Query{Stream: "s", From: seq(0), To: seq(0)})
	if g := c.frame(); g.id != 2 {
		t.Fatalf("frame %d id %d, want Response 2", g.tag, g.id)
	}
	franzAppend(t, dir, rs(3), []int64{30})
	c.ask(3, Query{Stream: "s", From: seq(3), To: seq(3)})
	if g := c.frame(); g.tag != tagResponse || g.id != 3 || !equal(records(g), rs(3)) {
		t.Fatalf("frame %d id %d %q, want Response 3", g.tag, g.id, records(g))
	}

	// 100 requests in flight, half of them waiting: each answered once, by id.
	for i := range int64(100) {
		c.ask(1000+i, Query{Stream: "s", From: seq(i % 8), To: seq(i % 8)})
	}
	franzAppend(t, dir, rs(4, 5, 6, 7), []int64{40}, []int64{50}, []int64{60}, []int64{70})
	seen := map[int64]bool{}
	for len(seen) < 100 {
		g := c.frame()
		if g.tag == tagWait {
			continue
		}
		i := g.id - 1000
		if g.tag != tagResponse || seen[g.id] || i < 0 || i >= 100 || !equal(records(g), rs(int(i%8))) {
			t.Fatalf("frame %d id %d %q", g.tag, g.id, records(g))
		}
		seen[g.id] = true
	}
}

// A client that leaves in the middle of a large answer costs the server
// nothing lasting: the next client is answered.
func TestClientLeavesMidResponse(t *testing.T) {
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "big"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Record
	for i := range 20000 {
		batch = append(batch, store.Record{Payload: bytes.Repeat([]byte{'a' + byte(i%26)}, 1000), Index: []int64{int64(i)}})
	}
	if _, err := w.AppendBatch(batch); err != nil {
		t.Fatal(err)
	}
	w.Close()
	addr := testServer(t, live, "")
	for range 3 {
		c := dialRaw(t, addr, "")
		c.ask(1, Query{Stream: "big", From: seq(0), To: seq(-1)})
		io.ReadFull(c.r, make([]byte, 100000))
		c.nc.Close()
	}
	cl, err := Dial(context.Background(), addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := cl.Query(context.Background(), Query{Stream: "big", From: seq(-1), To: seq(-1)})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := resp.Next()
	if err != nil || len(rec) != 1000 || rec[0] != 'a'+byte(19999%26) {
		t.Fatalf("last record: %d bytes, %v", len(rec), err)
	}
	resp.Close()
}

var errStop = errors.New("stop")

// Connections and waiting requests are bounded: one past a limit is
// refused with InternalError, and what is within it still works.
func TestLimits(t *testing.T) {
	live := t.TempDir()
	p, v := tens(2)
	franzStream(t, filepath.Join(live, "s"), "\n", p, v...)
	root, err := os.OpenRoot(live)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	srv := NewServer(Config{Live: root, MaxConns: 2, MaxWaiting: 2, MaxWaitingTotal: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer func() { ln.Close(); srv.Close() }()
	addr := ln.Addr().String()

	c := dialRaw(t, addr, "")
	for id := range int64(3) {
		c.ask(id, Query{Stream: "s", From: seq(10), To: seq(10)})
	}
	// ResponseWait comes from the waiter: the refusal may come before it.
	for range 3 {
		switch g := c.frame(); {
		case g.id == 2:
			if g.tag != tagError || g.err.Kind != InternalError || !strings.Contains(g.err.Text, "too many waiting requests") {
				t.Fatalf("third waiting request: %d %v", g.tag, g.err)
			}
		case g.tag != tagWait:
			t.Fatalf("frame %d id %d, want ResponseWait", g.tag, g.id)
		}
	}
	c.ask(3, Query{Stream: "s", From: seq(0), To: seq(0)})
	if g := c.frame(); g.tag != tagResponse || g.id != 3 {
		t.Fatalf("after the refusal: %d %d", g.tag, g.id)
	}

	// The second connection may wait for one more: the server takes 3.
	c2 := dialRaw(t, addr, "")
	c2.ask(1, Query{Stream: "s", From: seq(10), To: seq(10)})
	if g := c2.frame(); g.tag != tagWait {
		t.Fatalf("a third waiting request on the server: %d %v", g.tag, g.err)
	}
	c2.ask(2, Query{Stream: "s", From: seq(10), To: seq(10)})
	if g := c2.frame(); g.tag != tagError || g.err.Kind != InternalError || !strings.Contains(g.err.Text, "the server takes 3") {
		t.Fatalf("a fourth waiting request on the server: %d %v", g.tag, g.err)
	}
	_, err = Dial(context.Background(), addr, "")
	if e, ok := errors.AsType[*Exception](err); !ok || e.Kind != InternalError || !strings.Contains(e.Text, "too many connections") {
		t.Fatalf("a third connection: %v", err)
	}
}
