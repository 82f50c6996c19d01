// Package testenv lets the example tests state the external tools they
// need. A test whose dependency is missing is skipped with a loud reason on a
// developer machine, and fails when the environment variable CI is "true", so
// that a CI job without the tools cannot pass by skipping.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Need stops the test when ok is false. what names the missing dependency and
// how to provide it; why says which tests need it. With CI=true the test fails
// (t.Fatalf); otherwise it is skipped (t.Skipf) with a reason that starts with
// "SKIP (missing dependency):".
func Need(t testing.TB, what, why string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing dependency (CI=true, so this fails instead of skipping): %s; needed for %s", what, why)
	}
	t.Skipf("SKIP (missing dependency): %s; needed for %s", what, why)
}

// NeedNode requires the node binary on PATH and the npm packages phoenix and
// ws installed in dir/node_modules (dir holds the package.json, e.g.
// examples/hellosockets). See Need for what happens when one is missing.
func NeedNode(t testing.TB, dir string) {
	t.Helper()
	const why = "the end-to-end tests with the official phoenix.js client"
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	_, err := exec.LookPath("node")
	Need(t, "node on PATH (install Node.js 20 or newer)", why, err == nil)
	for _, pkg := range []string{"phoenix", "ws"} {
		_, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json"))
		Need(t, "npm package "+pkg+" in "+filepath.Join(dir, "node_modules")+" (run npm ci in "+dir+")", why, err == nil)
	}
}
