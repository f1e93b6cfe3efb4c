// Package e2e drives Parley in a real browser: it builds the server binary
// from this tree, runs it on a free port with a fresh SQLite file, and uses
// headless Chromium (through chromedp) as people would, with JavaScript on
// and off. The pages are also judged from outside: axe-core for
// accessibility and the Nu Html Checker for markup.
//
// The browser is Debian's chromium (/usr/bin/chromium, or $PARLEY_CHROMIUM);
// axe-core and vnu-jar come from package.json, installed into node_modules
// beside this file by "make browser-deps". When something is missing the
// tests skip, unless CI=true, where they fail.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/pgtest"
)

// binPath is the server binary built for this run.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "parley")
	if err := buildServer(binPath); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.Main(m) // stops the PostgreSQL cluster a test started
	stopBrowser()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildServer compiles cmd/parley from this tree. Under the race detector
// the server is built with it too, so the browser tests hunt races in it.
func buildServer(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, "./cmd/parley")...)
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return nil
}

// unavailable ends a test that lacks a tool: a skip on a developer's
// machine, a failure in CI, where everything must be installed.
func unavailable(t *testing.T, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is unavailable and CI=true: %v (make browser-deps installs it)", what, err)
	}
	t.Skipf("%s is unavailable: %v (make browser-deps installs it)", what, err)
}

// The browser is started once, on first use, and shared by every test; each
// simulated person gets a browser context of their own (separate cookies).
var browser struct {
	once    sync.Once
	ctx     context.Context
	cancel  context.CancelFunc
	dataDir string
	err     error
}

// chromiumPath finds the browser: $PARLEY_CHROMIUM, Debian's chromium, or
// one on the PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium at /usr/bin/chromium or on the PATH")
}

func startBrowser() {
	path, err := chromiumPath()
	if err != nil {
		browser.err = err
		return
	}
	browser.dataDir, err = os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(browser.dataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 800),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	browser.ctx = ctx
	browser.cancel = func() { cancel(); acancel() }

	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		err = errors.New("chromium did not start within 60 s")
	}
	if err != nil {
		browser.cancel()
		browser.cancel = nil // a second call would wait for ever
		browser.err = fmt.Errorf("start %s: %w", path, err)
	}
}

// needBrowser returns the shared browser's context, starting it on first
// use; without a browser the test skips (or fails in CI).
func needBrowser(t *testing.T) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	if browser.err != nil {
		unavailable(t, "chromium", browser.err)
	}
	return browser.ctx
}

func stopBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dataDir != "" {
		os.RemoveAll(browser.dataDir)
	}
}
