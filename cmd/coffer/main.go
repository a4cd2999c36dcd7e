// Command coffer is the single Coffer binary and the only place where flags,
// environment variables and config files are turned into each package's Config and
// the parts are wired together (DESIGN.md section 1).
//
// Subcommands:
//
//	coffer dev      a whole cluster in one process: 1 meta voter, 6 storage nodes
//	                (own data dirs, shard RPC over mutual TLS on loopback), 1 gateway
//	                (erasure 4+2) on HTTP and HTTPS; secrets generated on first start
//	coffer server   any mix of the roles meta, storage and gateway in one process
//	coffer admin    operator commands (init-cluster, kms, keys)
//	coffer probe    health check for images without a shell (compose, Kubernetes exec)
//	coffer version  the build's version
//
// Settings: every option of dev, server and admin has one name used three ways —
// the flag --name, the environment variable COFFER_NAME ('-' as '_') and, for server,
// the key name ('-' as '_') of the YAML file given by --config or COFFER_CONFIG.
// Precedence: flags > env > file > defaults. Secrets are never flags: the root key
// comes from a file or COFFER_ROOT_KEY, root credentials from a file or
// COFFER_ROOT_ACCESS_KEY / COFFER_ROOT_SECRET_KEY. Storage-only processes never read
// the root key.
//
// A dev data directory holds root.key (0600), credentials (0600, AWS
// shared-credentials format), tls/ca.pem, tls/ca-key.pem (0600), tls/node.pem,
// tls/node-key.pem (0600), dev.json (the loopback addresses chosen on first start),
// meta/ (raft log and state machine) and storage-1 … storage-6 (shard stores).
//
// Lifecycle and concurrency: a run function starts the parts in dependency order
// (ports bound first, then the gossip pool when configured, meta, storage, the
// metadata client, the gateway) and pushes a stop function for each on a stack; on
// SIGINT/SIGTERM (context cancellation) the stack stops them newest first — the
// process leaves the gossip pool on purpose, the gateway listeners drain in-flight
// requests within 15 s, the garbage collector is cancelled and joined, the storage
// servers and stores close, the meta voter hands leadership on and closes. Every goroutine this
// package starts is joined by its part's stop. A clean stop exits 0.
//
// Invariants: the root key and secret keys are never logged; the dev banner printed
// to stdout is the one place root credentials are shown, because the operator asked
// for them.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage: the command line was wrong; usage was printed (exit code 2).
var errUsage = errors.New("usage")

// cryptoRand is the randomness for generated secrets.
var cryptoRand io.Reader = rand.Reader

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process the default way.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: coffer <command> [flags]

commands:
  dev      run a whole cluster (1 meta voter, 6 storage nodes, 1 gateway) in one process
  server   run the given roles (meta, storage, gateway) as one process
  admin    operator commands (init-cluster, kms, keys)
  probe    health check: exit 0 if an http(s) URL answers 2xx or a tcp:// address accepts
  version  print the version

Run "coffer <command> -h" for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run runs one command line and returns the process exit code.
func run(ctx context.Context, args []string, lookup env, stdout, stderr io.Writer) int {
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
	case "dev":
		err = devMain(ctx, args[1:], lookup, stdout, stderr)
	case "server":
		err = serverMain(ctx, args[1:], lookup, stderr)
	case "admin":
		err = runAdmin(args[1:], lookup, stdout, stderr)
	case "probe":
		err = probeMain(ctx, args[1:], stdout)
	default:
		fmt.Fprintf(stderr, "coffer: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "coffer %s: %v\n", args[0], err)
	return 1
}

// devMain parses dev's settings and runs the dev cluster until ctx ends.
func devMain(ctx context.Context, args []string, lookup env, stdout, stderr io.Writer) error {
	s := defaultDevSettings()
	if err := load("dev", devOptions, &s, nil, args, source{env: lookup}, stderr); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	log, err := newLogger(stderr, s.Log)
	if err != nil {
		return err
	}
	return stoppedEarly(ctx, runDev(ctx, s, lookup, stdout, log, nil))
}

// stoppedEarly treats a start interrupted by the stop signal as a clean stop: the
// parts started so far have been stopped in order.
func stoppedEarly(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serverMain parses server's settings and runs its roles until ctx ends.
func serverMain(ctx context.Context, args []string, lookup env, stderr io.Writer) error {
	s := defaultServerSettings()
	var configFile string
	if err := load("server", serverOptions, &s, &configFile, args, source{env: lookup, readFile: os.ReadFile}, stderr); err != nil {
		return err
	}
	cfg, err := s.config()
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.Log)
	if err != nil {
		return err
	}
	return stoppedEarly(ctx, runServer(ctx, cfg, lookup, log, nil))
}
