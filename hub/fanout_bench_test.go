//go:build linux

package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/hub"
	"parley/internal/load"
)

// readerEnv tells a re-executed test binary to be the readers of
// BenchmarkFanout: "ADDR STREAMS".
const readerEnv = "PARLEY_FANOUT_READERS"

// BenchmarkFanout publishes one message frame to every stream of a room
// and waits until each stream's client has read it. The streams are real
// TCP connections over loopback, taken over by the hub as the handler
// does. Their readers live in a child process (this test binary run
// again), since 10 000 connections need 20 000 descriptors in all, more
// than one process may open here, and so that reading does not share the
// publisher's runtime. The observed runs also measure each message's
// fan-out latency, as the server does with -metrics-addr.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) { benchmarkFanout(b, n, false) })
		b.Run(fmt.Sprintf("streams=%d,observed", n), func(b *testing.B) { benchmarkFanout(b, n, true) })
	}
}

func benchmarkFanout(b *testing.B, n int, observed bool) {
	if _, err := load.RaiseFileLimit(uint64(n) + 256); err != nil {
		b.Skipf("open-file limit: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var cfg hub.Config
	var observations atomic.Int64
	if observed {
		cfg.ObserveFanout = func(time.Duration) { observations.Add(1) }
	}
	h := hub.New(cfg)
	defer h.Close()
	attached := make(chan error, 1)
	go func() {
		for i := range n {
			conn, err := ln.Accept()
			if err != nil {
				attached <- err
				return
			}
			sub, err := h.Subscribe("bench", "session-"+strconv.Itoa(i), int64(i), "")
			if err == nil {
				err = sub.Attach(conn)
			}
			if err != nil {
				attached <- err
				return
			}
		}
		attached <- nil
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutReaders$")
	cmd.Env = append(os.Environ(), readerEnv+"="+ln.Addr().String()+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	toChild, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer toChild.Close()
	fromChild := bufio.NewScanner(out)
	expect := func(want string) {
		b.Helper()
		if !fromChild.Scan() {
			b.Fatalf("readers: %v; want %q", fromChild.Err(), want)
		}
		if got := fromChild.Text(); got != want {
			b.Fatalf("readers said %q; want %q", got, want)
		}
	}
	if err := <-attached; err != nil {
		b.Fatal(err)
	}
	expect("open")

	body := []byte(`<li id="msg-0" data-id="0" class="message"><span class="author">ann</span> <span class="body">` +
		strings.Repeat("x", 50) + ` TAG</span></li>`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		b.StopTimer()
		fmt.Fprintf(toChild, "%d\n", i)
		expect("ready")
		data := strings.Replace(string(body), "TAG", load.Tag(i, 0, time.Now().UnixNano()), 1)
		b.StartTimer()
		f := hub.Encode(int64(i), "message", []byte(data))
		if observed {
			f.Committed = time.Now().UnixNano()
		}
		h.Publish("bench", f)
		expect("done")
	}
	b.StopTimer()
	if observed && observations.Load() == 0 {
		b.Error("no fan-out latency observed")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/copy")
}

// TestFanoutReaders is the child process of BenchmarkFanout; it does
// nothing in a normal test run. It opens the streams, then for each line
// "K" from the parent begins counting frame K, answers "ready", and
// answers "done" once every stream has read it.
func TestFanoutReaders(t *testing.T) {
	spec := os.Getenv(readerEnv)
	if spec == "" {
		t.Skip("runs only as BenchmarkFanout's readers")
	}
	addr, count, _ := strings.Cut(spec, " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := load.RaiseFileLimit(uint64(n) + 256); err != nil {
		t.Fatal(err)
	}
	c, err := load.NewClient(load.ClientConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	res, err := c.Open(ctx, make([]string, n))
	if err != nil || res.Opened != n {
		t.Fatalf("opened %d of %d streams: %v %v", res.Opened, n, err, res.Failed)
	}
	fmt.Println("open")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		k, err := strconv.Atoi(in.Text())
		if err != nil {
			t.Fatal(err)
		}
		c.BeginWave(k, 1)
		fmt.Println("ready")
		if !c.WaitDelivered(ctx, int64(n), 10*time.Second) {
			t.Fatalf("frame %d reached %d of %d streams", k, c.Delivered(), n)
		}
		fmt.Println("done")
	}
}
