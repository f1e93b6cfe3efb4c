// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb
// into a temporary folder, a server on a free loopback port, and a fresh
// database for each test. Nothing is mocked: it is Debian's PostgreSQL,
// which `make test` installs when initdb is missing.
//
// A test package shares one cluster:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and each test asks it for a database of its own with [URL].
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// RequiredEnv names the variable that makes a missing PostgreSQL a test
// failure instead of a skip; `make test` sets it.
const RequiredEnv = "PARLEY_PG_REQUIRED"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string // data, socket and log; removed by Stop
	bin  string // folder of initdb, pg_ctl and postgres
	port int
	run  func(name string, args ...string) *exec.Cmd
	next atomic.Int64
	down bool // stopped by Pause

	durable bool // PostgreSQL's own settings, not the tests' fast ones
}

var (
	shared    *Cluster
	sharedErr error
	startOnce sync.Once
)

// Main runs a test package's tests, then stops the cluster if a test
// started one.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// URL returns the address of a new, empty database on the package's
// cluster, starting the cluster on first use. Without PostgreSQL on the
// machine the test is skipped, or fails when RequiredEnv is set.
func URL(tb testing.TB) string {
	tb.Helper()
	startOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		startFailed(tb, sharedErr)
	}
	u, err := shared.NewDatabase(context.Background())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

var errNotInstalled = errors.New("PostgreSQL is not installed (no initdb)")

// startFailed skips the test when PostgreSQL is missing, unless
// RequiredEnv is set, and fails it otherwise.
func startFailed(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, errNotInstalled) && os.Getenv(RequiredEnv) == "" {
		tb.Skipf("pgtest: %v (make test installs it)", err)
	}
	tb.Fatalf("pgtest: %v", err)
}

// Bin finds the folder of PostgreSQL's server programs: Debian keeps them
// in /usr/lib/postgresql/VERSION/bin, off the PATH.
func Bin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errNotInstalled
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start makes a cluster in a new temporary folder and starts its server
// on a free loopback port. initdb refuses to run as root, so as root the
// cluster belongs to the postgres user. The server trades durability for
// speed (fsync, synchronous_commit and full_page_writes off).
func Start() (*Cluster, error) { return startCluster(false) }

// StartDurable starts a cluster as Start does, but with PostgreSQL's
// default durability (fsync, synchronous_commit and full_page_writes on:
// each commit waits for its WAL to reach the disk), for measurements.
func StartDurable() (*Cluster, error) { return startCluster(true) }

func startCluster(durable bool) (*Cluster, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, run: exec.Command, durable: durable}
	if os.Geteuid() == 0 {
		if c.run, err = asUser("postgres", dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.start(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// asUser returns a command maker that runs programs as the named user,
// and gives that user the folder.
func asUser(name, dir string) (func(string, ...string) *exec.Cmd, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root needs the %s user: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return func(prog string, args ...string) *exec.Cmd {
		cmd := exec.Command(prog, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = dir
		return cmd
	}, nil
}

func (c *Cluster) start() error {
	data := filepath.Join(c.dir, "data")
	if out, err := c.run(filepath.Join(c.bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	var lastErr error
	for range 5 { // another process may take the free port first
		port, err := freePort()
		if err != nil {
			return err
		}
		c.port = port
		if lastErr = c.serve(); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

// serve starts the server of the cluster's data on c.port.
func (c *Cluster) serve() error {
	opts := []string{
		"-c listen_addresses=127.0.0.1",
		"-c port=" + strconv.Itoa(c.port),
		"-c unix_socket_directories=" + c.dir,
		"-c max_connections=200",
	}
	if !c.durable { // a throwaway cluster for tests: speed over durability
		opts = append(opts, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	out, err := c.run(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"),
		"-o", strings.Join(opts, " "), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return nil
}

// Pause stops the server as an administrator would (fast shutdown: open
// connections are ended), keeping the data, so a test sees its
// database become unreachable. Resume starts it again.
func (c *Cluster) Pause() error {
	out, err := c.run(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"),
		"-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	c.down = true
	return nil
}

// Resume starts the server that Pause stopped, on the same port and with
// the same data.
func (c *Cluster) Resume() error {
	if err := c.serve(); err != nil {
		return err
	}
	c.down = false
	return nil
}

// Own starts a cluster for the calling test alone, for a test that stops
// or harms the server (Pause), and removes it when the test ends. Like
// URL, it skips the test when PostgreSQL is missing, unless RequiredEnv
// is set.
func Own(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := Start()
	if err != nil {
		startFailed(tb, err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Port is the loopback port the server listens on.
func (c *Cluster) Port() int { return c.port }

// URL returns the address of database name on the cluster.
func (c *Cluster) URL(name string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + name,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// NewDatabase creates an empty database and returns its address.
func (c *Cluster) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.next.Add(1))
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.URL(name), nil
}

// Stop stops the server at once and removes the cluster's folder.
func (c *Cluster) Stop() error {
	var err error
	if c.port != 0 && !c.down {
		if out, e := c.run(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"),
			"-m", "immediate", "-w", "stop").CombinedOutput(); e != nil {
			err = fmt.Errorf("pg_ctl stop: %v: %s", e, out)
		}
	}
	if e := os.RemoveAll(c.dir); e != nil && err == nil {
		err = e
	}
	return err
}
