// Package assert is the tiny assertion helper of phx's tests, in place of
// testify. Every function reports through t and stops the test on failure.
package assert

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Equal fails the test when got differs from want, showing a diff.
func Equal[T any](t testing.TB, name string, want, got T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// Frame fails the test when got is not byte-for-byte the frame want.
func Frame(t testing.TB, name, want, got string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n want %s\n  got %s", name, want, got)
	}
}

// Success fails the test when err is not nil.
func Success(t testing.TB, name string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", name, err)
	}
}

// ErrorIs fails the test when err does not match target with errors.Is.
func ErrorIs(t testing.TB, name string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %v", name, err, target)
	}
}

// Contains fails the test when s does not contain sub.
func Contains(t testing.TB, name, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%s: %q does not contain %q", name, s, sub)
	}
}

// NotContains fails the test when s contains sub.
func NotContains(t testing.TB, name, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Fatalf("%s: must not contain %q, got:\n%s", name, sub, s)
	}
}

// True fails the test when cond is false.
func True(t testing.TB, name string, cond bool) {
	t.Helper()
	if !cond {
		t.Fatalf("%s: want true", name)
	}
}
