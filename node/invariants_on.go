//go:build invariants

package node

// invariants enables expensive self-checks (make test builds with the tag).
const invariants = true
