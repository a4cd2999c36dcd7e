// Package tests holds the checks that look at the repository as a whole: the layering
// rules of DESIGN.md section 2, the one-package-doc rule, and (in subdirectories) the
// conformance, system and chaos tiers that need several components at once.
//
// Invariant: nothing in the product imports this package or its subpackages.
package tests
