//go:build invariants

package placement

// invariants enables the expensive self-checks of this package; CI always sets the tag.
const invariants = true
