package shim

import "testing"

// TestShimLock: a container's shim counts as alive exactly while it holds
// its lock, which a second shim cannot take.
func TestShimLock(t *testing.T) {
	dir := t.TempDir()
	if Alive(dir) {
		t.Fatal("alive before any shim locked")
	}
	held, err := lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(dir) {
		t.Error("not alive while the lock is held")
	}
	if second, err := lock(dir); err == nil {
		second.Close()
		t.Error("a second shim took the lock")
	}
	held.Close()
	if Alive(dir) {
		t.Error("alive after the lock was let go")
	}
}
