//go:build unix

package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/internal/load"
)

// report writes the Markdown tables of everything measured.
func (b *bench) report(w io.Writer) {
	if len(b.streamRows) > 0 {
		fmt.Fprintln(w, "\n### Streams: connect and idle memory")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| streams | people | streams per person | sessions | all open in | setup p50 / p99 | failed | server RSS before → after | RSS per stream | Go heap before → after | heap per stream | server goroutines | presence per stream p50 / max (events) |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
		for _, r := range b.streamRows {
			fmt.Fprintf(w, "| %d | %d | %s | %d | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |\n",
				r.res.Opened, r.people, perPerson(r.streams, r.people), r.sessions,
				round(r.res.Elapsed), round(r.res.Setup.P50), round(r.res.Setup.P99),
				orNone(failures(r.res.Failed)),
				memSpan(r.rssBefore, r.rssAfter), perStream(r.rssBefore, r.rssAfter, r.res.Opened),
				memSpan(r.heapBefore, r.heapAfter), perStream(r.heapBefore, r.heapAfter, r.res.Opened),
				count(r.goroutines), presence(r.presence))
		}
	}
	if len(b.waveRows) > 0 {
		fmt.Fprintln(w, "\n### Fan-out latency per delivered copy")
		fmt.Fprintln(w)
		waveTable(w, b.waveRows)
	}
	if len(b.elsewhereRows) > 0 {
		fmt.Fprintln(w, "\n### Room lists to people looking at other rooms")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| people | streams per person | posts @ rate | achieved | lists received / expected | p50 | p99 | max |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, r := range b.elsewhereRows {
			fmt.Fprintf(w, "| %d | 1 | %d @ %g/s | %.1f/s | %d / %d | %s | %s | %s |\n",
				r.people, r.w.posts, r.w.rate, r.post.Rate, r.lists, r.post.OK*r.opened.Opened,
				round(r.latency.P50), round(r.latency.P99), round(r.latency.Max))
		}
	}
	if len(b.probeRows) > 0 {
		fmt.Fprintf(w, "\n### Throughput probe: %d streams, %s per step\n\n", b.o.probeStreams, b.o.probeStep)
		waveTable(w, b.probeRows)
		fmt.Fprintln(w)
		if b.probeBest != nil {
			fmt.Fprintf(w, "Highest sustained rate with p99 ≤ %s: **%.0f posts/s** (asked %g/s; each post stored, acknowledged and delivered to %d streams).\n",
				b.o.probeBound, b.probeBest.post.Rate, b.probeBest.w.rate, b.probeBest.fan.Streams)
		} else {
			fmt.Fprintf(w, "No step was sustained with p99 ≤ %s.\n", b.o.probeBound)
		}
	}
	b.h2Report(w)
	if len(b.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range b.notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

func waveTable(w io.Writer, rows []waveRow) {
	fmt.Fprintln(w, "| streams | people | streams per person | posts @ rate | achieved | refused | post p99 | copies | p50 | p99 | max | lost | dup | out of order | dropped | server CPU | bench CPU |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		copies := fmt.Sprintf("%d", r.fan.Copies)
		if !r.drained {
			copies += fmt.Sprintf(" of %d", r.fan.Expected)
		}
		fmt.Fprintf(w, "| %d | %d | %s | %d @ %g/s | %.0f/s | %s | %s | %s | %s | %s | %s | %d | %d | %d | %d | %s | %s |\n",
			r.fan.Streams, r.people, perPerson(r.streams, r.people), r.w.posts, r.w.rate, r.post.Rate, orNone(postFailures(r.post.Failed)),
			round(r.post.Latency.P99), copies,
			round(r.fan.Latency.P50), round(r.fan.Latency.P99), round(r.fan.Latency.Max),
			r.fan.Lost, r.fan.Dup, r.fan.OutOfOrd, r.fan.Dropped, pct(r.serverCPU), pct(r.cpu))
	}
}

func postFailures(f map[int]int) string {
	if len(f) == 0 {
		return ""
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(f)) {
		name := fmt.Sprint(code)
		if code == 0 {
			name = "error"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, f[code]))
	}
	return strings.Join(parts, ", ")
}

// failures renders failed streams by reason, with a leading ", ".
func failures(f map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(f)) {
		fmt.Fprintf(&b, ", %s×%d", k, f[k])
	}
	return b.String()
}

func orNone(s string) string {
	s = strings.TrimPrefix(s, ", ")
	if s == "" {
		return "none"
	}
	return s
}

func memSpan(before, after int64) string {
	if before == 0 && after == 0 {
		return "–"
	}
	return fmt.Sprintf("%s → %s", mib(before), mib(after))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func perStream(before, after int64, n int) string {
	if before == 0 && after == 0 || n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f KiB", float64(after-before)/1024/float64(n))
}

// perPerson says how many streams each person had.
func perPerson(streams, people int) string {
	if people == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(streams)/float64(people), 'f', -1, 64)
}

// presence says what one stream received of the online list.
func presence(p load.PresenceResult) string {
	if p.Streams == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s (%d / %d)", kib(p.BytesP50), kib(p.BytesMax), p.EventsP50, p.EventsMax)
}

func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

func count(n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprint(n)
}

func pct(f float64) string {
	if f < 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", f*100)
}

// round shortens d for a table: three significant digits at most.
func round(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 100*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < 10*time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
