//go:build linux

package load

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client holds many event streams from one process. It does not spend a
// goroutine and a buffered reader per stream: a few pollers each own an
// epoll set, set up connections without blocking, and read every ready
// socket into one shared buffer, parsing only what the measurements need.
type Client struct {
	pollers []*poller
	next    int
	notify  chan struct{} // a poller delivered copies
}

// NewClient starts the pollers of a client with no streams.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Pollers <= 0 {
		cfg.Pollers = 1
	}
	if cfg.MaxDialing <= 0 {
		cfg.MaxDialing = 256
	}
	ap, err := net.ResolveTCPAddr("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	if ip4 := ap.IP.To4(); ip4 != nil {
		sa4 := &syscall.SockaddrInet4{Port: ap.Port}
		copy(sa4.Addr[:], ip4)
		sa = sa4
	} else {
		sa6 := &syscall.SockaddrInet6{Port: ap.Port}
		copy(sa6.Addr[:], ap.IP.To16())
		sa, family = sa6, syscall.AF_INET6
	}
	c := &Client{notify: make(chan struct{}, 1)}
	for range cfg.Pollers {
		p, err := newPoller(cfg, sa, family, c.notify)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.pollers = append(c.pollers, p)
		go p.run()
	}
	return c, nil
}

// Open opens one stream per cookie ("name=value"; ignored in raw mode) on
// the client's path and waits until each is open or has failed, or ctx is
// done.
func (c *Client) Open(ctx context.Context, cookies []string) (ConnectResult, error) {
	targets := make([]Target, len(cookies))
	for i, ck := range cookies {
		targets[i] = Target{Cookie: ck}
	}
	return c.OpenTargets(ctx, targets)
}

// OpenTargets opens one stream per target, each on its own path (the
// client's when empty), and waits as Open does.
func (c *Client) OpenTargets(ctx context.Context, targets []Target) (ConnectResult, error) {
	cookies := targets
	start := time.Now()
	for _, p := range c.pollers {
		p.mu.Lock()
		p.resetDial(start)
		p.mu.Unlock()
	}
	for _, tg := range targets {
		p := c.pollers[c.next%len(c.pollers)]
		c.next++
		p.mu.Lock()
		p.queue = append(p.queue, tg)
		p.mu.Unlock()
	}
	for _, p := range c.pollers {
		p.wakeUp()
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var res ConnectResult
	for {
		res = ConnectResult{Failed: map[string]int{}}
		var setup []time.Duration
		last := start
		for _, p := range c.pollers {
			p.mu.Lock()
			res.Opened += p.opened
			for k, v := range p.failed {
				res.Failed[k] += v
			}
			setup = append(setup, p.setup...)
			if p.lastOpen.After(last) {
				last = p.lastOpen
			}
			p.mu.Unlock()
		}
		failed := 0
		for _, v := range res.Failed {
			failed += v
		}
		res.Elapsed = last.Sub(start)
		res.Setup = Summarise(setup)
		if res.Opened+failed >= len(cookies) {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
	}
}

// Presence returns what the open streams received of the online list
// since they opened.
func (c *Client) Presence() PresenceResult {
	var bytes []int64
	var events []int
	for _, p := range c.pollers {
		p.mu.Lock()
		for _, s := range p.streams {
			if s.state == live {
				bytes = append(bytes, s.sc.presenceBytes)
				events = append(events, s.sc.presenceEvents)
			}
		}
		p.mu.Unlock()
	}
	r := PresenceResult{Streams: len(bytes)}
	if len(bytes) == 0 {
		return r
	}
	slices.Sort(bytes)
	slices.Sort(events)
	r.BytesP50, r.BytesMax = bytes[len(bytes)/2], bytes[len(bytes)-1]
	r.EventsP50, r.EventsMax = events[len(events)/2], events[len(events)-1]
	return r
}

// RoomsArrivals returns, for each open stream, when each of its "rooms"
// events (the person's room list) arrived.
func (c *Client) RoomsArrivals() [][]time.Time {
	var all [][]time.Time
	for _, p := range c.pollers {
		p.mu.Lock()
		for _, s := range p.streams {
			if s.state == live {
				all = append(all, slices.Clone(s.roomsAt))
			}
		}
		p.mu.Unlock()
	}
	return all
}

// Streams returns the number of open streams.
func (c *Client) Streams() int {
	n := 0
	for _, p := range c.pollers {
		p.mu.Lock()
		n += p.live
		p.mu.Unlock()
	}
	return n
}

// BeginWave starts counting the copies of wave's messages 0..m-1: from now
// on every stream records which of them it received, and how late.
func (c *Client) BeginWave(wave, m int) {
	for _, p := range c.pollers {
		p.mu.Lock()
		p.beginWave(wave, m)
		p.mu.Unlock()
	}
}

// Delivered returns how many copies of the current wave's messages have
// arrived, over all streams.
func (c *Client) Delivered() int64 {
	var n int64
	for _, p := range c.pollers {
		n += p.delivered.Load()
	}
	return n
}

// WaitDelivered waits until at least target copies have arrived, or none
// has arrived for idle, or ctx is done. It reports whether target was met.
func (c *Client) WaitDelivered(ctx context.Context, target int64, idle time.Duration) bool {
	last, lastChange := c.Delivered(), time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := c.Delivered()
		if n >= target {
			return true
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > idle {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// EndWave finishes the wave begun last. acked[seq] tells which messages
// the server acknowledged; every stream should have received those.
func (c *Client) EndWave(acked []bool) WaveResult {
	var r WaveResult
	var lat []time.Duration
	for _, p := range c.pollers {
		p.mu.Lock()
		p.endWave(acked, &r)
		lat = append(lat, p.samples...)
		p.samples = nil
		p.mu.Unlock()
	}
	r.Latency = Summarise(lat)
	return r
}

// CloseStreams ends every stream with a reset, so that closing thousands of
// them leaves no sockets waiting in TIME_WAIT.
func (c *Client) CloseStreams() {
	for _, p := range c.pollers {
		p.mu.Lock()
		p.closeAll()
		p.mu.Unlock()
	}
}

// Close ends every stream and stops the pollers.
func (c *Client) Close() {
	for _, p := range c.pollers {
		p.stop()
	}
}

type streamState uint8

const (
	dialing streamState = iota
	heading
	live
	dead
)

// stream is one event stream of a poller.
type stream struct {
	fd      int
	state   streamState
	started time.Time
	head    []byte
	sc      scanner
	lastID  int64
	roomsAt []time.Time // when each "rooms" event arrived

	// The current wave.
	seen     []uint64 // bit per message seq
	got      int
	dup, ooo int
}

type poller struct {
	epfd         int
	wakeR, wakeW int
	sa           syscall.Sockaddr
	family       int
	path         string
	host         string
	maxDialing   int
	buf          []byte
	emitTo       *stream
	emitAt       time.Time
	emitFn       func(message)
	delivered    atomic.Int64
	notify       chan<- struct{}
	stopOnce     sync.Once
	done         chan struct{}
	mu           sync.Mutex
	stopped      bool
	streams      map[int]*stream
	gone         []*stream // streams that ended during the wave
	queue        []Target
	dialingCount int
	live         int
	opened       int
	failed       map[string]int
	setup        []time.Duration
	lastOpen     time.Time
	wave, m      int
	samples      []time.Duration
	stale        int64
	waveStreams  int
}

func newPoller(cfg ClientConfig, sa syscall.Sockaddr, family int, notify chan<- struct{}) (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe: %w", err)
	}
	p := &poller{
		epfd: epfd, wakeR: pipe[0], wakeW: pipe[1],
		sa: sa, family: family, path: cfg.Path, host: cfg.Addr, maxDialing: cfg.MaxDialing,
		buf:     make([]byte, 256<<10),
		notify:  notify,
		done:    make(chan struct{}),
		streams: map[int]*stream{},
		failed:  map[string]int{},
	}
	p.emitFn = p.onMessage
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakeR, &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return p, nil
}

func (p *poller) closeFDs() {
	syscall.Close(p.epfd)
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
}

func (p *poller) wakeUp() { syscall.Write(p.wakeW, []byte{1}) }

func (p *poller) stop() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		p.mu.Unlock()
		p.wakeUp()
		<-p.done
		p.closeAll()
		p.closeFDs()
	})
}

func (p *poller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 1024)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil && err != syscall.EINTR {
			panic(fmt.Sprintf("load: epoll_wait: %v", err))
		}
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return
		}
		before := p.delivered.Load()
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == p.wakeR {
				var b [64]byte
				syscall.Read(p.wakeR, b[:])
				continue
			}
			if s := p.streams[fd]; s != nil {
				p.handle(s, ev.Events)
			}
		}
		p.dialMore()
		p.mu.Unlock()
		if p.delivered.Load() != before {
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
	}
}

func (p *poller) resetDial(start time.Time) {
	p.opened = 0
	clear(p.failed)
	p.setup = p.setup[:0]
	p.lastOpen = start
}

// dialMore starts connections from the queue while fewer than maxDialing
// are being set up.
func (p *poller) dialMore() {
	for p.dialingCount < p.maxDialing && len(p.queue) > 0 {
		tg := p.queue[0]
		p.queue = p.queue[1:]
		if err := p.dial(tg); err != nil {
			p.failed["connect: "+errText(err)]++
		}
	}
	if len(p.queue) == 0 {
		p.queue = nil
	}
}

func (p *poller) dial(tg Target) error {
	fd, err := syscall.Socket(p.family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := syscall.Connect(fd, p.sa); err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return err
	}
	s := &stream{fd: fd, started: time.Now()}
	if p.path != "" {
		s.head = []byte(p.request(tg))
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		syscall.Close(fd)
		return err
	}
	p.streams[fd] = s
	p.dialingCount++
	return nil
}

func (p *poller) request(tg Target) string {
	return "GET " + cmp.Or(tg.Path, p.path) + " HTTP/1.1\r\nHost: " + p.host +
		"\r\nCookie: " + tg.Cookie +
		"\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: parley-bench\r\n\r\n"
}

func (p *poller) handle(s *stream, events uint32) {
	if s.state == dialing {
		if events&syscall.EPOLLOUT == 0 && events&(syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
			return
		}
		errno, err := syscall.GetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err == nil && errno != 0 {
			err = syscall.Errno(errno)
		}
		if err != nil {
			p.fail(s, "connect: "+errText(err))
			return
		}
		if s.head != nil {
			n, err := syscall.Write(s.fd, s.head)
			if err != nil || n != len(s.head) {
				p.fail(s, "send request: short write")
				return
			}
			s.head = s.head[:0]
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(s.fd)}
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, s.fd, &ev)
		s.state = heading
		if p.path == "" {
			p.opening(s)
		}
		return
	}
	n, err := syscall.Read(s.fd, p.buf)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if n <= 0 {
		if s.state == heading {
			reason := "closed before the response"
			if err != nil {
				reason = errText(err)
			}
			p.fail(s, reason)
			return
		}
		p.drop(s)
		return
	}
	data := p.buf[:n]
	if s.state == heading {
		s.head = append(s.head, data...)
		i := bytes.Index(s.head, []byte("\r\n\r\n"))
		if i < 0 {
			if len(s.head) > 16<<10 {
				p.fail(s, "response head too long")
			}
			return
		}
		if code := statusCode(s.head); code != 200 {
			p.fail(s, "status "+strconv.Itoa(code))
			return
		}
		data = s.head[i+4:]
		p.opening(s)
	}
	p.emitTo, p.emitAt = s, time.Now()
	s.sc.feed(data, p.emitFn)
	for len(s.roomsAt) < s.sc.roomsEvents {
		s.roomsAt = append(s.roomsAt, p.emitAt)
	}
	if s.head != nil && s.state == live {
		s.head = nil
	}
}

// opening marks s as open.
func (p *poller) opening(s *stream) {
	now := time.Now()
	s.state = live
	p.dialingCount--
	p.live++
	p.opened++
	p.setup = append(p.setup, now.Sub(s.started))
	p.lastOpen = now
}

func (p *poller) fail(s *stream, reason string) {
	p.failed[reason]++
	p.dialingCount--
	p.forget(s)
	syscall.Close(s.fd)
}

// drop handles a stream the server ended.
func (p *poller) drop(s *stream) {
	p.live--
	p.forget(s)
	s.state = dead
	p.gone = append(p.gone, s)
	syscall.Close(s.fd)
}

func (p *poller) forget(s *stream) {
	delete(p.streams, s.fd)
	s.state = dead
}

func (p *poller) closeAll() {
	for fd := range p.streams {
		syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
		syscall.Close(fd)
	}
	clear(p.streams)
	p.gone = nil
	p.queue = nil
	p.live = 0
	p.dialingCount = 0
}

// onMessage records one message event of the stream p.emitTo.
func (p *poller) onMessage(m message) {
	s := p.emitTo
	if m.tagged && m.wave == p.wave && m.seq >= 0 && m.seq < p.m && s.seen != nil {
		w, bit := m.seq/64, uint64(1)<<(m.seq%64)
		if s.seen[w]&bit != 0 {
			s.dup++
			return
		}
		s.seen[w] |= bit
		s.got++
		p.delivered.Add(1)
		p.samples = append(p.samples, p.emitAt.Sub(time.Unix(0, m.sentNS)))
	} else if m.tagged {
		p.stale++
	}
	if m.id <= s.lastID {
		s.ooo++
		return
	}
	s.lastID = m.id
}

func (p *poller) beginWave(wave, m int) {
	p.wave, p.m = wave, m
	p.samples = p.samples[:0]
	p.stale = 0
	p.gone = nil
	p.delivered.Store(0)
	p.waveStreams = 0
	words := (m + 63) / 64
	for _, s := range p.streams {
		if s.state != live {
			continue
		}
		p.waveStreams++
		if cap(s.seen) >= words {
			s.seen = s.seen[:words]
			clear(s.seen)
		} else {
			s.seen = make([]uint64, words)
		}
		s.got, s.dup, s.ooo = 0, 0, 0
	}
}

func (p *poller) endWave(acked []bool, r *WaveResult) {
	count := func(s *stream) {
		if s.seen == nil {
			return
		}
		for seq, ok := range acked {
			if ok && (seq >= p.m || s.seen[seq/64]&(1<<(seq%64)) == 0) {
				r.Lost++
			}
		}
		r.Copies += int64(s.got)
		r.Dup += int64(s.dup)
		r.OutOfOrd += int64(s.ooo)
	}
	for _, s := range p.streams {
		if s.state == live {
			count(s)
		}
	}
	for _, s := range p.gone {
		count(s)
	}
	nAcked := 0
	for _, ok := range acked {
		if ok {
			nAcked++
		}
	}
	r.Streams += p.waveStreams
	r.Expected += int64(nAcked) * int64(p.waveStreams)
	r.Dropped += len(p.gone)
	r.Stale += p.stale
	p.wave, p.m = 0, 0
}

// statusCode reads the status code of an HTTP/1.x response head.
func statusCode(head []byte) int {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	_, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(rest) < 3 {
		return 0
	}
	n, err := strconv.Atoi(string(rest[:3]))
	if err != nil {
		return 0
	}
	return n
}

func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
