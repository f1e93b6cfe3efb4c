// Package load drives a running Parley server the way its users do, only
// through the public routes, and measures what comes back: how fast event
// streams open, how late each copy of a message arrives, and whether any
// copy is lost, doubled or out of order. cmd/parley-bench is its front.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SessionCookie is the name of Parley's session cookie.
const SessionCookie = "parley_session"

// Session is one signed-in browser session.
type Session struct {
	Handle string
	Cookie string // "parley_session=TOKEN", for a Cookie header
}

// Accounts registers users and signs them in.
type Accounts struct {
	// Base is the server's root URL, such as http://127.0.0.1:8080.
	Base   string
	client *http.Client
}

// NewAccounts returns an Accounts for the server at base.
func NewAccounts(base string) *Accounts {
	return &Accounts{Base: strings.TrimSuffix(base, "/"), client: &http.Client{
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Register creates the account handle and returns its first session.
func (a *Accounts) Register(ctx context.Context, handle, password string) (Session, error) {
	return a.signIn(ctx, "/register", handle, password)
}

// Login opens one more session of the account handle.
func (a *Accounts) Login(ctx context.Context, handle, password string) (Session, error) {
	return a.signIn(ctx, "/login", handle, password)
}

func (a *Accounts) signIn(ctx context.Context, path, handle, password string) (Session, error) {
	form := url.Values{"handle": {handle}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return Session{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := a.client.Do(req)
	if err != nil {
		return Session{}, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusSeeOther {
		hint := ""
		if res.StatusCode == http.StatusTooManyRequests {
			hint = " (the server limits sign-ups per address; use fewer users or a fresh server)"
		}
		return Session{}, fmt.Errorf("POST %s %s: status %d%s", path, handle, res.StatusCode, hint)
	}
	for _, c := range res.Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			return Session{Handle: handle, Cookie: c.Name + "=" + c.Value}, nil
		}
	}
	return Session{}, errors.New("POST " + path + ": no session cookie in the answer")
}

// Follow requests path with the session cookie ("name=value") and returns
// where the server's 303 leads, such as the direct room GET /dm/HANDLE
// opens.
func (a *Accounts) Follow(ctx context.Context, path, cookie string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Base+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Cookie", cookie)
	res, err := a.client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	return res.Header.Get("Location"), nil
}
