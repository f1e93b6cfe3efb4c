//go:build !linux

package load

import (
	"context"
	"errors"
	"time"
)

// Client holds many event streams from one process; it needs epoll, so it
// works on Linux only.
type Client struct{}

var errNoEpoll = errors.New("load: the stream client needs Linux (epoll)")

// NewClient fails: there is no epoll here.
func NewClient(cfg ClientConfig) (*Client, error) { return nil, errNoEpoll }

// Open fails: there is no epoll here.
func (c *Client) Open(ctx context.Context, cookies []string) (ConnectResult, error) {
	return ConnectResult{}, errNoEpoll
}

// OpenTargets fails: there is no epoll here.
func (c *Client) OpenTargets(ctx context.Context, targets []Target) (ConnectResult, error) {
	return ConnectResult{}, errNoEpoll
}

// RoomsArrivals returns nothing.
func (c *Client) RoomsArrivals() [][]time.Time { return nil }

// Presence returns nothing.
func (c *Client) Presence() PresenceResult { return PresenceResult{} }

// Streams returns 0.
func (c *Client) Streams() int { return 0 }

// BeginWave does nothing.
func (c *Client) BeginWave(wave, m int) {}

// Delivered returns 0.
func (c *Client) Delivered() int64 { return 0 }

// WaitDelivered returns false.
func (c *Client) WaitDelivered(ctx context.Context, target int64, idle time.Duration) bool {
	return false
}

// EndWave returns nothing.
func (c *Client) EndWave(acked []bool) WaveResult { return WaveResult{} }

// CloseStreams does nothing.
func (c *Client) CloseStreams() {}

// Close does nothing.
func (c *Client) Close() {}
