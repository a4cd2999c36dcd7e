// Package system holds the system tests of Coffer: they run against the
// docker-compose cluster of the repository root (3 meta+storage nodes, 3 storage
// nodes, 2 gateways) through the COS Go SDK and aws-sdk-go-v2, and break it on
// purpose: stopped and disconnected storage containers, killed meta voters, a
// restart of everything.
//
// The tests carry the build tag e2e and expect a running cluster; `make
// test-cluster` brings one up, runs them and tears it down even on failure:
//
//	go test -tags e2e -count=1 -v ./tests/system/...
//
// Environment: COFFER_COMPOSE is the compose command ("docker compose" or
// "docker-compose", the default), COMPOSE_PROJECT_NAME the project (default
// "coffer"), COFFER_SECRETS the directory written by `coffer admin init-cluster`
// (default deploy/secrets of the repository); COFFER_ROOT_ACCESS_KEY and
// COFFER_ROOT_SECRET_KEY, when set, replace its credentials file.
//
// Concurrency contract: TestCluster runs its steps strictly in order (each one
// leaves the cluster whole for the next); nothing runs in parallel with it. Every
// request and every docker command is bounded by a timeout, and every step that
// stops, kills or disconnects a container restores it in a deferred cleanup.
//
// Invariant checked throughout: every object a gateway acknowledged reads back
// byte-exact, through either gateway, after every fault the step injected.
package system
