package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRequestLog measures one request through the request log to a
// handler that writes a short body, logging to nowhere and to a file, one
// request at a time and from every CPU at once. Besides the wall time it
// reports cpu-ns/op, the process's CPU time per request, which counts the
// work of any goroutine that writes the log.
func BenchmarkRequestLog(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := ""
		if parallel {
			name = "-parallel"
		}
		b.Run("discard"+name, func(b *testing.B) { benchRequestLog(b, io.Discard, parallel) })
		b.Run("file"+name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "requests.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			benchRequestLog(b, f, parallel)
		})
	}
}

func benchRequestLog(b *testing.B, out io.Writer, parallel bool) {
	a, done := newLogApp(out)
	body := []byte("ok\n")
	h := a.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
	}))
	serve := func() func() {
		r := httptest.NewRequest("GET", "/rooms/general", nil)
		r.RemoteAddr = "192.0.2.7:51234"
		w := &nullWriter{h: http.Header{}}
		return func() { h.ServeHTTP(w, r) }
	}
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			one := serve()
			for pb.Next() {
				one()
			}
		})
	} else {
		one := serve()
		for range b.N {
			one()
		}
	}
	done() // lines still waiting count too
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// newLogApp is an App with only what the request log needs, set up as the
// server sets it up; done writes what is waiting.
func newLogApp(out io.Writer) (*App, func()) {
	a := &App{log: slog.New(slog.NewTextHandler(out, nil)), reqlog: newRequestLog(out)}
	return a, a.reqlog.close
}

// nullWriter is a ResponseWriter that keeps nothing, so a benchmark
// counts the middleware's costs only.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nullWriter) WriteHeader(int)             {}
