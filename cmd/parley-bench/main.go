//go:build unix

// Command parley-bench measures a running Parley server through its public
// routes only: it registers users, opens event streams with their sessions
// (several per session, as browser tabs do), posts tagged messages at a
// steady rate, and reports how fast the streams opened, what they cost the
// server in memory, how late each copy of a message arrived, and whether
// any was lost, doubled or out of order. A probe then ramps the post rate
// with a few streams open until the 99th percentile passes a bound.
//
//	parley-bench -url http://127.0.0.1:8080 -pid $(pidof parley) -debug-addr 127.0.0.1:6060
//
// A scenario of many distinct people, each with one stream, needs their
// accounts and sessions made beforehand, since registering them would hash
// a password for each: "parley-bench prepare" writes them into a database
// file before the server starts on it, and their session tokens into a file
// for -people-tokens.
//
//	parley-bench prepare -db bench.db -people 10000 -tokens people.txt
//
// For servers on PostgreSQL, "parley-bench pg" starts a throwaway cluster
// with PostgreSQL's default durability, prints the URLs of empty databases
// on it, and removes it on SIGINT or SIGTERM:
//
//	parley-bench pg -databases 2 > urls.txt &
//
// A progress line goes to standard error; the Markdown tables go to
// standard output at the end. -pid enables the memory and CPU columns
// (from /proc); -debug-addr, the server's loopback debug listener, adds
// the Go heap and lets -profile save CPU and allocation profiles.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley-bench:", err)
		}
		os.Exit(1)
	}
}

// options are the command's settings.
type options struct {
	url           string
	pid           int
	debugAddr     string
	room          string
	users         int
	perSession    int
	password      string
	plan          []scenario
	peoplePlan    []scenario
	elsewherePlan []scenario
	peopleTokens  string
	probe         bool
	probeStreams  int
	probeStart    float64
	probeFactor   float64
	probeMax      float64
	probeStep     time.Duration
	probeBound    time.Duration
	workers       int
	bodyBytes     int
	pollers       int
	dialing       int
	settle        time.Duration
	drainIdle     time.Duration
	profileDir    string
	h2People      int
	h2PerConn     int
	postURL       string
	waveFrom      int
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var plan, peoplePlan, elsewherePlan string
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "the server's root `URL`")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, for its memory and CPU (0: not measured)")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "the server's -debug-addr, for its Go heap and profiles")
	fs.StringVar(&o.room, "room", "general", "the room to load")
	fs.IntVar(&o.users, "users", 100, "accounts to register; each posts in turn")
	fs.IntVar(&o.perSession, "per-session", 16, "streams per session at most (the server allows 16)")
	fs.StringVar(&o.password, "password", "parley-bench-password", "the accounts' password")
	fs.StringVar(&plan, "load", "1000:200@20;10000:200@20,40@2",
		"scenarios separated by ';': STREAMS:POSTS@RATE[,POSTS@RATE...]; each opens STREAMS fresh streams "+
			"and posts POSTS messages at RATE per second, wave after wave; empty: none")
	fs.StringVar(&peoplePlan, "people-load", "",
		"scenarios of distinct people, run first, separated by ';': PEOPLE:POSTS@RATE[,POSTS@RATE...]; each opens "+
			"one stream for each of PEOPLE prepared accounts (-people-tokens) and posts the waves from the first -users of them")
	fs.StringVar(&elsewherePlan, "elsewhere-load", "",
		"scenarios of people looking at other rooms, after the people scenarios: PEOPLE:POSTS@RATE; each of PEOPLE prepared "+
			"people opens one stream in their direct room with person-0, who posts the waves to -room; reports how soon each gets their room list")
	fs.StringVar(&o.peopleTokens, "people-tokens", "", "the `file` of session tokens written by 'parley-bench prepare', one person a line")
	fs.BoolVar(&o.probe, "probe", true, "ramp the post rate to find the highest one held with p99 within -probe-p99")
	fs.IntVar(&o.probeStreams, "probe-streams", 100, "streams open during the probe")
	fs.Float64Var(&o.probeStart, "probe-start", 250, "the probe's first rate, posts per second")
	fs.Float64Var(&o.probeFactor, "probe-factor", 1.4, "each probe step's rate over the previous one's")
	fs.Float64Var(&o.probeMax, "probe-max", 20000, "the probe's highest rate")
	fs.DurationVar(&o.probeStep, "probe-step", 3*time.Second, "how long each probe step posts")
	fs.DurationVar(&o.probeBound, "probe-p99", time.Second, "the fan-out p99 a probe step must stay within")
	fs.IntVar(&o.workers, "workers", 128, "posts in flight at most")
	fs.IntVar(&o.bodyBytes, "body-bytes", 80, "size of each message body")
	fs.IntVar(&o.pollers, "pollers", 1, "epoll loops reading the streams")
	fs.IntVar(&o.dialing, "dialing", 256, "connections being set up at once, per poller")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after opening streams before measuring memory")
	fs.DurationVar(&o.drainIdle, "drain-idle", 5*time.Second, "after posting, give up waiting for copies after this long without one")
	fs.StringVar(&o.profileDir, "profile", "", "with -debug-addr: save the server's CPU and allocation profiles of each wave in this `directory`")
	fs.IntVar(&o.h2People, "h2-people", 10000,
		"with an https:// -url, the only scenario: one stream for each of this many prepared people (-people-tokens) over HTTP/2, "+
			"-h2-per-conn to a connection, and the server's memory per stream once all have started")
	fs.IntVar(&o.h2PerConn, "h2-per-conn", 100, "streams per HTTP/2 connection")
	fs.StringVar(&o.postURL, "post-url", "",
		"post to the server at this root `URL` instead of -url, which holds the streams: two servers on one PostgreSQL "+
			"database, the latency measured from a post on one to the streams on the other")
	fs.IntVar(&o.waveFrom, "wave-from", 0,
		"number the waves in the message tags from this one on: two tools loading one room at once each count only "+
			"their own messages when their numbers differ (-wave-from 1000 for the second)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if strings.HasPrefix(o.url, "https://") {
		// The other scenarios speak HTTP/1.1 over plain TCP.
		var set []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "load", "people-load", "elsewhere-load", "probe":
				set = append(set, "-"+f.Name)
			}
		})
		switch {
		case len(set) > 0:
			return o, fmt.Errorf("with an https:// -url only the HTTP/2 scenario (-h2-people) runs; leave out %s", strings.Join(set, " "))
		case o.h2People < 1 || o.h2PerConn < 1:
			return o, errors.New("-h2-people and -h2-per-conn must be at least 1")
		case o.peopleTokens == "":
			return o, errors.New("-h2-people needs -people-tokens (made by 'parley-bench prepare')")
		}
		o.probe = false
		return o, nil
	}
	o.h2People = 0
	var err error
	if o.plan, err = parsePlan(plan); err != nil {
		return o, fmt.Errorf("-load: %w", err)
	}
	if o.peoplePlan, err = parsePlan(peoplePlan); err != nil {
		return o, fmt.Errorf("-people-load: %w", err)
	}
	if o.elsewherePlan, err = parsePlan(elsewherePlan); err != nil {
		return o, fmt.Errorf("-elsewhere-load: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.users < 1 || o.perSession < 1 || o.workers < 1 || o.pollers < 1 || o.dialing < 1:
		return o, errors.New("-users, -per-session, -workers, -pollers and -dialing must be at least 1")
	case o.probe && (o.probeStreams < 1 || o.probeStart <= 0 || o.probeFactor <= 1 || o.probeStep <= 0):
		return o, errors.New("the probe needs -probe-streams ≥ 1, -probe-start > 0, -probe-factor > 1, -probe-step > 0")
	case o.waveFrom < 0:
		return o, errors.New("-wave-from must not be negative")
	case o.postURL != "" && !strings.HasPrefix(o.postURL, "http://"):
		return o, errors.New("-post-url must be an http:// URL")
	case o.profileDir != "" && o.debugAddr == "":
		return o, errors.New("-profile needs -debug-addr")
	case len(o.peoplePlan)+len(o.elsewherePlan) > 0 && o.peopleTokens == "":
		return o, errors.New("-people-load and -elsewhere-load need -people-tokens (made by 'parley-bench prepare')")
	}
	return o, nil
}

// scenario is a number of fresh streams and the waves posted to them.
type scenario struct {
	streams int
	waves   []wave
}

// wave is a number of posts at a steady rate.
type wave struct {
	posts int
	rate  float64
}

// parsePlan reads "STREAMS:POSTS@RATE[,POSTS@RATE...]" scenarios separated
// by ';'.
func parsePlan(s string) ([]scenario, error) {
	var plan []scenario
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, waves, _ := strings.Cut(part, ":")
		streams, err := strconv.Atoi(n)
		if err != nil || streams < 1 {
			return nil, fmt.Errorf("%q: streams must be a positive whole number", part)
		}
		sc := scenario{streams: streams}
		for w := range strings.SplitSeq(waves, ",") {
			if w = strings.TrimSpace(w); w == "" {
				continue
			}
			m, r, ok := strings.Cut(w, "@")
			posts, err1 := strconv.Atoi(m)
			rate, err2 := strconv.ParseFloat(r, 64)
			if !ok || err1 != nil || err2 != nil || posts < 1 || !(rate > 0) {
				return nil, fmt.Errorf("%q: a wave is POSTS@RATE, such as 200@20", w)
			}
			sc.waves = append(sc.waves, wave{posts, rate})
		}
		plan = append(plan, sc)
	}
	return plan, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "prepare":
			return prepare(ctx, args[1:], stdout, stderr)
		case "pg":
			return pgCluster(ctx, args[1:], stdout, stderr)
		}
	}
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	b, err := newBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	err = b.runAll(ctx)
	// Whatever was measured is worth printing, even after a failure.
	b.report(stdout)
	return err
}
