//go:build unix

package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"parley/internal/load"
)

// elsewhereRow is what people with their streams in other rooms saw of
// one wave posted to a room they all belong to.
type elsewhereRow struct {
	people  int
	w       wave
	post    load.PostResult
	lists   int // room lists received after the first post
	latency load.Latencies
	opened  load.ConnectResult
}

// runElsewhere gives each of sc.streams people (person-1 …) one stream in
// their direct room with person-0, who then posts sc's waves to -room,
// a room they all belong to: each post changes everyone's unread count, so
// each of their streams should get their room list ("rooms") within a
// second. The latency of a list is from the post that caused it (the
// latest sent before it arrived) to its arrival.
func (b *bench) runElsewhere(ctx context.Context, sc scenario) error {
	n := sc.streams
	if n+1 > len(b.people) {
		return fmt.Errorf("-elsewhere-load wants %d people; -people-tokens has %d", n+1, len(b.people))
	}
	targets := make([]load.Target, n)
	b.progress.set(func() string { return fmt.Sprintf("opening %d direct rooms", n) })
	if err := parallel(ctx, 8, 0, n, func(i int) error {
		p := b.people[i+1]
		room, err := b.accounts.Follow(ctx, "/dm/"+b.people[0].Handle, p.Cookie)
		targets[i] = load.Target{Path: room + "/events", Cookie: p.Cookie}
		return err
	}); err != nil {
		return err
	}
	res, err := b.client.OpenTargets(ctx, targets)
	if err != nil {
		return err
	}
	b.progress.println(fmt.Sprintf("opened %d/%d streams in direct rooms in %s%s", res.Opened, n, round(res.Elapsed), failures(res.Failed)))
	sleep(ctx, b.o.settle)
	poster := b.newPoster(b.people[:1])
	for _, w := range sc.waves {
		b.waveNo++
		no := b.waveNo
		b.progress.set(func() string {
			return fmt.Sprintf("posting %d messages at %g/s to people elsewhere: %d posted", w.posts, w.rate, b.posted.Load())
		})
		b.posted.Store(0)
		pr := poster.Run(ctx, no, w.posts, w.rate)
		sleep(ctx, 2*time.Second) // the last lists are on their way
		row := elsewhereRow{people: n, w: w, post: pr, opened: res}
		row.lists, row.latency = listLatencies(b.client.RoomsArrivals(), pr.Sent)
		b.elsewhereRows = append(b.elsewhereRows, row)
		b.progress.println(fmt.Sprintf("room lists to %d people elsewhere: %d received for %d posts, p50 %s p99 %s max %s",
			n, row.lists, pr.OK, round(row.latency.P50), round(row.latency.P99), round(row.latency.Max)))
	}
	b.closeStreams(ctx)
	return ctx.Err()
}

// listLatencies pairs each room list that arrived after the first post of
// a wave with the latest post sent before it.
func listLatencies(arrivals [][]time.Time, sent []time.Time) (int, load.Latencies) {
	posts := slices.DeleteFunc(slices.Clone(sent), time.Time.IsZero)
	slices.SortFunc(posts, time.Time.Compare)
	var lat []time.Duration
	for _, s := range arrivals {
		for _, at := range s {
			i, _ := slices.BinarySearchFunc(posts, at, time.Time.Compare)
			if i == 0 {
				continue // before the wave
			}
			lat = append(lat, at.Sub(posts[i-1]))
		}
	}
	return len(lat), load.Summarise(lat)
}
