package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coffer-io/coffer/gateway"
)

const adminKeysUsage = `usage: coffer admin keys <command> [flags]

commands:
  status   show master-key versions, their states and how many keys each seals
  rotate   make a new master-key version active (--wait: then re-wrap with progress)
  rewrap   re-wrap every data key under the active version, showing progress, until
           every old version is retired
  reseal   rotate the root key: re-seal the ring and user secrets under the key in
           --new-root-key-file (HTTPS endpoints only); then restart every gateway
           with the new root key file
`

// Limits of the keys commands.
const (
	// keysPollInterval is how often rewrap and rotate --wait poll the progress.
	keysPollInterval = 500 * time.Millisecond
	// keysRequestTimeout bounds one admin request.
	keysRequestTimeout = 5 * time.Minute
	// keysBarWidth is the width of the progress bar in characters.
	keysBarWidth = 30
	// keysFailedPollsMax is how many polls in a row may see a failed pass before
	// rewrap gives up (a pass that failed once, e.g. in a leader change, is retried).
	keysFailedPollsMax = 10
)

// keysSettings are the settings of `coffer admin keys ...`.
type keysSettings struct {
	Endpoint        string
	CredentialsFile string
	CA              string
	Wait            bool
	NewRootKeyFile  string
}

var keysOptions = []option[keysSettings]{
	{"endpoint", "gateway base URL, e.g. https://127.0.0.1:8443", func(s *keysSettings) any { return &s.Endpoint }},
	{"credentials-file", "admin credentials (AWS shared-credentials format); env " + envRootAccessKey + "/" + envRootSecretKey + " win", func(s *keysSettings) any { return &s.CredentialsFile }},
	{"ca", "PEM file of the CA that signed the gateway's certificate (default: system roots)", func(s *keysSettings) any { return &s.CA }},
	{"wait", "rotate: wait for the re-wrap job, showing progress", func(s *keysSettings) any { return &s.Wait }},
	{"new-root-key-file", "reseal: file holding the new root key (32 bytes or 64 hex digits)", func(s *keysSettings) any { return &s.NewRootKeyFile }},
}

func (s keysSettings) Validate(cmd string) error {
	var errs []error
	u, err := url.Parse(s.Endpoint)
	switch {
	case s.Endpoint == "":
		errs = append(errs, errors.New("endpoint: a gateway URL is required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("endpoint: %q is not an http(s) URL", s.Endpoint))
	case cmd == "reseal" && u.Scheme != "https":
		errs = append(errs, errors.New("endpoint: reseal sends the new root key, so it needs an https endpoint"))
	}
	if cmd == "reseal" && s.NewRootKeyFile == "" {
		errs = append(errs, errors.New("new-root-key-file: reseal needs the new root key"))
	}
	if cmd != "reseal" && s.NewRootKeyFile != "" {
		errs = append(errs, errors.New("new-root-key-file: only reseal takes it"))
	}
	if s.Wait && cmd != "rotate" {
		errs = append(errs, errors.New("wait: only rotate takes it"))
	}
	return errors.Join(errs...)
}

// runAdminKeys dispatches `coffer admin keys ...`.
func runAdminKeys(args []string, lookup env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminKeysUsage)
		return errUsage
	}
	cmd := args[0]
	switch cmd {
	case "status", "rotate", "rewrap", "reseal":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminKeysUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "coffer admin keys: unknown command %q\n\n%s", cmd, adminKeysUsage)
		return errUsage
	}
	var s keysSettings
	if err := load("admin keys "+cmd, keysOptions, &s, nil, args[1:], source{env: lookup}, stderr); err != nil {
		return err
	}
	if err := s.Validate(cmd); err != nil {
		return err
	}
	client, err := s.client(lookup)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch cmd {
	case "status":
		st, err := keysStatus(ctx, client)
		if err != nil {
			return err
		}
		printKeyStatus(stdout, st)
		return nil
	case "rotate":
		var st gateway.KeyStatus
		if err := keysDo(ctx, client, "POST", "keys/rotate", nil, &st); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "master key version %d is active\n", st.Active)
		if !s.Wait {
			return nil
		}
		return keysRewrap(ctx, client, stdout, keysPollInterval)
	case "rewrap":
		return keysRewrap(ctx, client, stdout, keysPollInterval)
	}
	// reseal
	data, err := readSecretFile(s.NewRootKeyFile)
	if err != nil {
		return fmt.Errorf("new root key: %w", err)
	}
	root, err := parseRootKey(data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.NewRootKeyFile, err)
	}
	in := struct{ RootKey string }{hex.EncodeToString(root[:])}
	var res gateway.ResealResult
	if err := keysDo(ctx, client, "POST", "keys/reseal", in, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-sealed %d master-key versions, %d KMS keys and %d user secrets (%d already done)\n%s\n",
		res.RingVersions, res.CMKs, res.Users, res.UsersDone, res.Note)
	return nil
}

// client builds the admin client from the settings.
func (s keysSettings) client(lookup env) (*gateway.AdminClient, error) {
	return newAdminClient(s.Endpoint, s.CredentialsFile, s.CA, keysRequestTimeout, lookup)
}

func keysDo(ctx context.Context, c *gateway.AdminClient, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, keysRequestTimeout)
	defer cancel()
	return c.Do(ctx, method, path, nil, in, out)
}

func keysStatus(ctx context.Context, c *gateway.AdminClient) (gateway.KeyStatus, error) {
	var st gateway.KeyStatus
	err := keysDo(ctx, c, "GET", "keys", nil, &st)
	return st, err
}

// printKeyStatus prints the ring as a table.
func printKeyStatus(w io.Writer, st gateway.KeyStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tCREATED\tKEYS")
	for _, v := range st.Versions {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\n", v.Version, v.State, v.Created.UTC().Format(time.RFC3339), v.Census)
	}
	tw.Flush()
	period := "on demand only"
	if st.RotationPeriod > 0 {
		period = "every " + st.RotationPeriod.String()
	}
	fmt.Fprintf(w, "active %d, ring epoch %d, rotation %s; %d keys to re-wrap\n", st.Active, st.Epoch, period, st.Remaining)
	if p := st.Rewrap; !p.Started.IsZero() {
		state := "finished"
		if p.Running {
			state = "running"
		}
		fmt.Fprintf(w, "last re-wrap pass (%s): %d re-wrapped, %d skipped, %d failed, %.0f keys/s", state, p.Done, p.Skipped, p.Failed, p.Rate)
		if p.Error != "" {
			fmt.Fprintf(w, ", error: %s", p.Error)
		}
		fmt.Fprintln(w)
	}
}

// oldVersionsLive reports whether a version other than the active one is not retired.
func oldVersionsLive(st gateway.KeyStatus) bool {
	for _, v := range st.Versions {
		if v.Version != st.Active && v.State != "retired" {
			return true
		}
	}
	return false
}

// keysRewrap asks for re-wrap passes and draws a progress line until every old
// version is retired.
func keysRewrap(ctx context.Context, c *gateway.AdminClient, out io.Writer, poll time.Duration) error {
	st, err := keysStatus(ctx, c)
	if err != nil {
		return err
	}
	total := st.Remaining
	// A gateway without a background loop runs the pass within this request.
	if err := keysDo(ctx, c, "POST", "keys/rewrap", nil, &st); err != nil {
		return err
	}
	start := time.Now()
	failed := 0 // consecutive polls that saw a failed pass
	for {
		if total < st.Remaining {
			total = st.Remaining
		}
		done := total - st.Remaining
		fmt.Fprintf(out, "\r%s", progressLine(done, total, time.Since(start)))
		if !oldVersionsLive(st) {
			fmt.Fprintln(out)
			fmt.Fprintf(out, "every old master-key version is retired; active %d\n", st.Active)
			return nil
		}
		if st.Rewrap.Error != "" && !st.Rewrap.Running {
			if failed++; failed >= keysFailedPollsMax {
				fmt.Fprintln(out)
				return fmt.Errorf("re-wrap pass failed: %s", st.Rewrap.Error)
			}
		} else {
			failed = 0
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if st.Rewrap.Running {
			st, err = keysStatus(ctx, c)
		} else {
			// Ask again: a pass may have ended within the retire grace.
			err = keysDo(ctx, c, "POST", "keys/rewrap", nil, &st)
		}
		if err != nil {
			fmt.Fprintln(out)
			return err
		}
	}
}

// progressLine draws "[#####-----] done/total keys  rate/s".
func progressLine(done, total uint64, elapsed time.Duration) string {
	filled := keysBarWidth
	if total > 0 {
		filled = int(done * keysBarWidth / total)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	return fmt.Sprintf("re-wrap [%s%s] %d/%d keys  %.0f keys/s",
		strings.Repeat("#", filled), strings.Repeat("-", keysBarWidth-filled), done, total, rate)
}
