package hub

// Stats are the hub's counters, read at any time without stopping delivery.
type Stats struct {
	// Streams is the number of open streams.
	Streams int
	// SlowDropped counts the streams ended because their client did not
	// read fast enough, since the hub started.
	SlowDropped uint64
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{Streams: h.Streams(), SlowDropped: h.slowDropped.Load()}
}
