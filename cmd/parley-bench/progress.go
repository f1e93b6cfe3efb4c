//go:build unix

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress keeps one status line on standard error, redrawn every second
// on a terminal and written every few seconds elsewhere; finished steps
// print as lines of their own above it.
type progress struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	status func() string
	shown  bool
	quit   chan struct{}
	done   chan struct{}
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, quit: make(chan struct{}), done: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	go p.run()
	return p
}

func (p *progress) run() {
	defer close(p.done)
	every := time.Second
	if !p.tty {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == nil {
		return
	}
	s := p.status()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", s)
		p.shown = true
	} else {
		fmt.Fprintf(p.w, "... %s\n", s)
	}
}

// set replaces the status line's source.
func (p *progress) set(status func() string) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
}

// println prints a finished step.
func (p *progress) println(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		io.WriteString(p.w, "\r\033[K")
		p.shown = false
	}
	fmt.Fprintln(p.w, strings.TrimSpace(s))
}

func (p *progress) stop() {
	close(p.quit)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		io.WriteString(p.w, "\r\033[K")
	}
}
