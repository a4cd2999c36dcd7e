//go:build !invariants

package erasure

const invariants = false
