// Command coffer is the single Coffer binary and the only place where flags, environment
// variables and config files are turned into each package's Config and the parts are
// wired together. Subcommands: dev (a whole cluster in one process), server (any mix
// of roles), admin (operator CLI) and bench (load generator).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// errNotBuilt is returned by subcommands whose components have not landed yet.
var errNotBuilt = errors.New("not built yet")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: coffer <command> [flags]

commands:
  dev      run a whole cluster (1 meta voter, 6 storage nodes, 1 gateway) in one process
  server   run the given roles (meta, storage, gateway) as one process
  admin    operator commands
  bench    load generator
  version  print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "coffer", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "dev", "server", "admin", "bench":
		err = fmt.Errorf("coffer %s: %w: the gateway, storage node and metadata cluster are still being built (see the open issues)", args[0], errNotBuilt)
	default:
		fmt.Fprintf(stderr, "coffer: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
