package main

import (
	"testing"
	"time"

	"github.com/phxgo/phx/internal/leakcheck"
)

// TestMain fails the package when a test leaves a goroutine running: a
// server not closed, a connection not ended. The Node and browser tests
// start processes, not goroutines, but the HTTP servers they talk to must
// be closed like any other.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
