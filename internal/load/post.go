package load

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Poster posts tagged messages to a room at a steady rate, as htmx does
// (HX-Request: true), spreading them over several users' sessions.
type Poster struct {
	// Base is the server's root URL.
	Base string
	// Room is the room posted to.
	Room string
	// Sessions post in turn: message seq goes through Sessions[seq%len].
	Sessions []Session
	// Workers is the most posts in flight at once (default 64).
	Workers int
	// BodyBytes pads each body to about this many bytes (default 80).
	BodyBytes int
	// Posted, when set, counts acknowledged posts as they come.
	Posted *atomic.Int64

	once   sync.Once
	client *http.Client
	url    string
}

// PostResult tells how a run of posts went.
type PostResult struct {
	Acked   []bool      // by seq: the server acknowledged it (2xx)
	Sent    []time.Time // by seq: when it was sent
	OK      int         // acknowledged posts
	Failed  map[int]int // refused posts by status; 0 is a transport error
	Elapsed time.Duration
	Rate    float64   // acknowledged posts per second, as achieved
	Latency Latencies // from sending a post to its acknowledgement
}

const filler = " The quick brown fox jumps over the lazy dog while the chat rolls on."

func (p *Poster) init() {
	if p.Workers <= 0 {
		p.Workers = 64
	}
	if p.BodyBytes <= 0 {
		p.BodyBytes = 80
	}
	p.url = strings.TrimSuffix(p.Base, "/") + "/rooms/" + p.Room + "/messages"
	p.client = &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        p.Workers,
			MaxIdleConnsPerHost: p.Workers,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run posts m messages of wave at rate per second, message seq at start +
// seq/rate, and waits for every answer. A post that finds every worker
// busy waits for one, so a server slower than rate shows as a lower
// achieved Rate.
func (p *Poster) Run(ctx context.Context, wave, m int, rate float64) PostResult {
	p.once.Do(p.init)
	res := PostResult{Acked: make([]bool, m), Sent: make([]time.Time, m), Failed: map[int]int{}}
	lat := make([]time.Duration, m)
	status := make([]int, m)
	for i := range status {
		status[i] = -1
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(p.Workers, m) {
		wg.Go(func() {
			for seq := range jobs {
				status[seq], lat[seq], res.Sent[seq] = p.post(ctx, wave, seq)
			}
		})
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
dispatch:
	for seq := range m {
		if d := time.Until(start.Add(time.Duration(seq) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				break dispatch
			}
		}
		select {
		case jobs <- seq:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(jobs)
	wg.Wait()
	res.Elapsed = time.Since(start)
	var ok []time.Duration
	for seq, code := range status {
		switch {
		case code >= 200 && code < 300:
			res.Acked[seq] = true
			res.OK++
			ok = append(ok, lat[seq])
		case code == -1: // never sent
		default:
			res.Failed[code]++
		}
	}
	res.Latency = Summarise(ok)
	if res.Elapsed > 0 {
		res.Rate = float64(res.OK) / res.Elapsed.Seconds()
	}
	return res
}

// post sends one message and returns the answer's status (0 when there was
// none, -1 when ctx ended first), how long the answer took and when it
// was sent.
func (p *Poster) post(ctx context.Context, wave, seq int) (status int, latency time.Duration, sent time.Time) {
	if ctx.Err() != nil {
		return -1, 0, sent
	}
	sent = time.Now()
	body := Tag(wave, seq, sent.UnixNano())
	if pad := p.BodyBytes - len(body); pad > 0 {
		body += filler[:min(pad, len(filler))]
	}
	form := "body=" + url.QueryEscape(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(form))
	if err != nil {
		return 0, 0, sent
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("Cookie", p.Sessions[seq%len(p.Sessions)].Cookie)
	res, err := p.client.Do(req)
	if err != nil {
		return 0, 0, sent
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode/100 == 2 && p.Posted != nil {
		p.Posted.Add(1)
	}
	return res.StatusCode, time.Since(sent), sent
}
