package store

// Stats are the store's counters since Open.
type Stats struct {
	// MessagesStored counts the messages and notices committed; edits,
	// deletions and reactions do not count.
	MessagesStored uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{MessagesStored: s.stored.Load()}
}

// countStored counts the new messages of a committed batch.
func (s *Store) countStored(batch []*job) {
	n := 0
	for _, j := range batch {
		for _, m := range j.msgs {
			if m.ChangeID == 0 {
				n++
			}
		}
	}
	s.stored.Add(uint64(n))
}
