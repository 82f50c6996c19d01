package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// chromiumNames are the executables NeedChromium looks for on PATH, after
// $CHROMIUM and Debian's /usr/bin/chromium.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// NeedChromium returns the path of a Chromium (or Chrome) executable for the
// browser tests: $CHROMIUM when set, else /usr/bin/chromium (Debian's
// package, which .ci/run installs), else the first of chromium,
// chromium-browser, google-chrome and google-chrome-stable on PATH. See Need
// for what happens when there is none.
func NeedChromium(t testing.TB) string {
	t.Helper()
	const why = "the browser tests (a real headless Chromium loads the example page)"
	if p := os.Getenv("CHROMIUM"); p != "" {
		_, err := exec.LookPath(p)
		Need(t, "the browser named by $CHROMIUM ("+p+")", why, err == nil)
		return p
	}
	if _, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Need(t, "chromium (apt-get install chromium, or set $CHROMIUM to a Chrome executable)", why, false)
	return ""
}
