// Package e2e holds tend's end-to-end tests: each test builds nothing itself but
// starts the real `tend server` binary (built once by TestMain) on a loopback
// port in a temporary data directory, and drives it with the real kubectl and
// curl, as a user would. The package has no non-test code.
//
// Tests skip when kubectl is not installed. Everything they create lives in
// t.TempDir(), and every process they start is stopped by its PID.
package e2e
