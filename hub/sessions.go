package hub

import "time"

// EndSessionsMatching sends a logout event to the streams of the session
// tokens that match accepts, and ends them as EndSessions does. It is how
// a session ended on another server, known here by a digest of its token,
// ends here.
func (h *Hub) EndSessionsMatching(match func(token string) bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	now := time.Now()
	for t, subs := range h.sessions {
		if !match(t) {
			continue
		}
		for _, s := range subs {
			s.finish(logoutFrame, now)
		}
	}
}
