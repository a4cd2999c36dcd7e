package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/coffer-io/coffer"

// listedPackage is the part of `go list -json` output the lint tests use.
type listedPackage struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	CgoFiles     []string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "-tags", "invariants", module+"/...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// component names the top-level directory a package of ours belongs to ("erasure",
// "node", "cmd", ...), or "" for the module root.
func component(importPath string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
	top, _, _ := strings.Cut(rel, "/")
	return top
}

// allowed lists, per component, which other components of ours it may import
// (DESIGN.md section 2). A component may always import its own subpackages.
var allowed = map[string][]string{
	"internal": {},
	"erasure":  {},
	"sse":      {},
	"node":     {"erasure"},
	"cluster":  {"erasure"},
	"gateway":  {"erasure", "sse", "node", "cluster"},
	"cmd":      {"erasure", "sse", "node", "cluster", "gateway"},
	"tests":    {"erasure", "sse", "node", "cluster", "gateway", "cmd"},
	"deploy":   {"erasure", "sse", "node", "cluster", "gateway", "cmd"},
}

// leafForbidden are third-party or standard packages the leaf components must not use:
// they know nothing of storage engines, the network or logging.
var leafForbidden = []string{
	"net/http", "log", "log/slog", "github.com/cockroachdb/pebble",
	"github.com/hashicorp/raft", "github.com/hashicorp/memberlist",
}

// TestLintDependencyDirection fails when a package imports against the arrows of
// DESIGN.md section 2, including from its tests.
func TestLintDependencyDirection(t *testing.T) {
	for _, v := range layeringViolations(listPackages(t)) {
		t.Error(v)
	}
}

// TestLintLayeringRules proves the layering check can fail: synthetic packages that
// break each kind of rule are reported, and legal ones are not.
func TestLintLayeringRules(t *testing.T) {
	tests := []struct {
		name string
		pkg  listedPackage
		bad  bool
	}{
		{"node uses erasure", listedPackage{ImportPath: module + "/node", Imports: []string{module + "/erasure"}}, false},
		{"erasure uses sse", listedPackage{ImportPath: module + "/erasure", Imports: []string{module + "/sse"}}, true},
		{"cluster uses node", listedPackage{ImportPath: module + "/cluster/internal/fsm", Imports: []string{module + "/node"}}, true},
		{"cluster test uses gateway", listedPackage{ImportPath: module + "/cluster", XTestImports: []string{module + "/gateway"}}, true},
		{"sse uses slog", listedPackage{ImportPath: module + "/sse", Imports: []string{"log/slog"}}, true},
		{"erasure uses pebble", listedPackage{ImportPath: module + "/erasure", Imports: []string{"github.com/cockroachdb/pebble/v2"}}, true},
		{"gateway uses everything", listedPackage{ImportPath: module + "/gateway", Imports: []string{module + "/node", module + "/cluster", module + "/sse", "net/http"}}, false},
		{"shared internal leaf", listedPackage{ImportPath: module + "/node", Imports: []string{module + "/internal/pki"}}, false},
		{"internal leaf uses node", listedPackage{ImportPath: module + "/internal/pki", Imports: []string{module + "/node"}}, true},
		{"unknown component", listedPackage{ImportPath: module + "/misc"}, true},
		{"own subpackage", listedPackage{ImportPath: module + "/sse", TestImports: []string{module + "/sse/ssetest"}}, false},
	}
	for _, tt := range tests {
		got := layeringViolations([]listedPackage{tt.pkg})
		if (len(got) > 0) != tt.bad {
			t.Errorf("%s: violations %q, want bad=%v", tt.name, got, tt.bad)
		}
	}
}

func layeringViolations(pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		from := component(p.ImportPath)
		ok, known := allowed[from]
		if !known {
			out = append(out, fmt.Sprintf("%s: component %q has no layering rule; add it to allowed", p.ImportPath, from))
			continue
		}
		imports := append(append(append([]string{}, p.Imports...), p.TestImports...), p.XTestImports...)
		for _, imp := range imports {
			if strings.HasPrefix(imp, module+"/") || imp == module {
				to := component(imp)
				// Module-root internal packages are shared leaves anyone may use.
				if to == from || to == "internal" || contains(ok, to) {
					continue
				}
				out = append(out, fmt.Sprintf("%s imports %s: %s may not depend on %s (DESIGN.md section 2)", p.ImportPath, imp, from, to))
				continue
			}
			if from == "erasure" || from == "sse" {
				for _, bad := range leafForbidden {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						out = append(out, fmt.Sprintf("%s imports %s: leaf packages stay free of I/O, logging and storage engines", p.ImportPath, imp))
					}
				}
			}
		}
	}
	return out
}

// TestLintPackageDoc checks that every package has exactly one package doc comment.
func TestLintPackageDoc(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		var withDoc []string
		for _, name := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if hasPackageDoc(f) {
				withDoc = append(withDoc, name)
			}
		}
		switch len(withDoc) {
		case 1:
		case 0:
			t.Errorf("%s: no package doc comment", p.ImportPath)
		default:
			t.Errorf("%s: %d package doc comments (%s); keep exactly one", p.ImportPath, len(withDoc), strings.Join(withDoc, ", "))
		}
	}
}

func hasPackageDoc(f *ast.File) bool {
	return f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
