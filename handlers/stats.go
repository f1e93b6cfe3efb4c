package handlers

import (
	"sync/atomic"

	"parley/hub"
)

// Stats are the web front's counters, read at any time for monitoring.
type Stats struct {
	// Hub holds the open streams and the slow ones dropped.
	Hub hub.Stats
	// RefusedWrongPassword counts sign-ins refused for a wrong handle or
	// password since start.
	RefusedWrongPassword uint64
	// RefusedThrottled counts sign-ins refused because of too many
	// failures (429) since start.
	RefusedThrottled uint64
}

// refusals counts refused sign-ins by reason.
type refusals struct {
	wrongPassword, throttled atomic.Uint64
}

// Stats returns the web front's counters.
func (a *App) Stats() Stats {
	return Stats{
		Hub:                  a.hub.Stats(),
		RefusedWrongPassword: a.refused.wrongPassword.Load(),
		RefusedThrottled:     a.refused.throttled.Load(),
	}
}
