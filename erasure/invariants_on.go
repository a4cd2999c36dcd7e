//go:build invariants

package erasure

// invariants enables expensive self-checks (re-verifying parity after every encode).
const invariants = true
