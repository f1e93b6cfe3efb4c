//go:build race

package e2e

// raceEnabled: the tests run under the race detector, and so does the
// server they build.
const raceEnabled = true
