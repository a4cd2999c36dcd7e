//go:build !invariants

package placement

const invariants = false
