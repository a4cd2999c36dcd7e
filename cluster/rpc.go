package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/raft"
)

// The internal RPC is HTTP/1.1 over the node's mutual-TLS port (ALPN "http/1.1").
// Every endpoint is served only by the leader (reads also by any node when stale);
// a non-leader answers 503 with a leader hint and the caller retries there, so a
// request never travels more than one hop.
//
//	POST /coffer/v1/apply        body: encoded command      200: encoded response
//	POST /coffer/v1/read/{op}    body: JSON arguments       200: JSON result
//	POST /coffer/v1/join         body: JSON Peer            204
//	POST /coffer/v1/remove       body: JSON {"id": ...}     204
//	GET  /coffer/v1/status                                  200: JSON Status
//
// Errors are JSON rpcError bodies: 503 for retryable conditions (not leader, no
// leader, shutting down, timeout), 400 for malformed requests, 409 for application
// errors of reads (a stable code the state machine maps back to its sentinel), 500
// otherwise. The request header Coffer-Stale: 1 makes a read run locally without
// confirming leadership.
const (
	rpcPrefix    = "/coffer/v1/"
	headerStale  = "Coffer-Stale"
	contentBytes = "application/octet-stream"
	contentJSON  = "application/json"
)

// errUnreachable marks a transport failure talking to a peer; it is retryable.
var errUnreachable = errors.New("cluster: peer unreachable")

// rpcError is an error answered by a peer.
type rpcError struct {
	Status int    `json:"-"`
	Kind   string `json:"kind"` // not-leader, closed, unavailable, bad-request, app, internal
	Msg    string `json:"msg,omitempty"`
	Leader string `json:"leader,omitempty"` // leader address hint
	Code   int    `json:"code,omitempty"`   // application error code (Kind "app")
	Retry  bool   `json:"-"`
	app    error  // decoded application error
}

func (e *rpcError) Error() string {
	if e.app != nil {
		return e.app.Error()
	}
	return fmt.Sprintf("cluster: peer answered %d %s: %s", e.Status, e.Kind, e.Msg)
}

func (e *rpcError) Unwrap() error {
	switch {
	case e.app != nil:
		return e.app
	case e.Kind == "bad-request":
		return ErrBadRequest
	}
	return nil
}

// appError marks an error produced by the state machine for a read, as opposed to a
// raft or transport condition.
type appError struct{ err error }

func (e appError) Error() string { return e.err.Error() }
func (e appError) Unwrap() error { return e.err }

func (n *Node) rpcHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+rpcPrefix+"apply", n.handleApply)
	mux.HandleFunc("POST "+rpcPrefix+"read/{op}", n.handleRead)
	mux.HandleFunc("POST "+rpcPrefix+"join", n.handleJoin)
	mux.HandleFunc("POST "+rpcPrefix+"remove", n.handleRemove)
	mux.HandleFunc("GET "+rpcPrefix+"status", n.handleStatus)
	return mux
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, RequestBytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %v", ErrBadRequest, err)
	}
	if len(b) > RequestBytesMax {
		return nil, fmt.Errorf("%w: body exceeds %d bytes", ErrBadRequest, RequestBytesMax)
	}
	return b, nil
}

// enter registers an in-flight request so Close waits for it; false once closing.
func (n *Node) enter() bool { return n.track() }
func (n *Node) leave()      { n.waiters.Done() }

func (n *Node) handleApply(w http.ResponseWriter, r *http.Request) {
	if !n.enter() {
		n.writeErr(w, ErrClosed)
		return
	}
	defer n.leave()
	body, err := readBody(r)
	if err == nil {
		err = n.sm.checkCommand(body)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
	}
	if err != nil {
		n.writeErr(w, err)
		return
	}
	if n.raft.State() != raft.Leader {
		n.writeErr(w, raft.ErrNotLeader)
		return
	}
	ctx, cancel := n.bound(r.Context())
	defer cancel()
	resp, err := n.applyLocal(ctx, body)
	if err != nil {
		n.writeErr(w, err)
		return
	}
	out, err := n.sm.encodeResponse(resp)
	if err != nil {
		n.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", contentBytes)
	w.Write(out)
}

func (n *Node) handleRead(w http.ResponseWriter, r *http.Request) {
	if !n.enter() {
		n.writeErr(w, ErrClosed)
		return
	}
	defer n.leave()
	h, ok := n.sm.readHandler(r.PathValue("op"))
	if !ok {
		n.writeErr(w, fmt.Errorf("%w: unknown read %q", ErrBadRequest, r.PathValue("op")))
		return
	}
	body, err := readBody(r)
	if err != nil {
		n.writeErr(w, err)
		return
	}
	ctx, cancel := n.bound(r.Context())
	defer cancel()
	stale := r.Header.Get(headerStale) == "1"
	if !stale {
		if err := n.readBarrier(ctx); err != nil {
			n.writeErr(w, err)
			return
		}
	}
	out, err := h(n.sm, body)
	if err != nil {
		n.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", contentJSON)
	w.Write(out)
}

func (n *Node) handleJoin(w http.ResponseWriter, r *http.Request) {
	var p Peer
	if !n.decodeJSON(w, r, &p) {
		return
	}
	if err := validID(p.ID); err != nil || p.Addr == "" {
		n.writeErr(w, fmt.Errorf("%w: join needs a valid id and address", ErrBadRequest))
		return
	}
	n.leaderOnly(w, r, func(ctx context.Context) error {
		return n.await(ctx, n.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.Addr), 0, n.cfg.RequestTimeout))
	})
}

func (n *Node) handleRemove(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string `json:"id"`
	}
	if !n.decodeJSON(w, r, &req) {
		return
	}
	if err := validID(req.ID); err != nil {
		n.writeErr(w, fmt.Errorf("%w: %w", ErrBadRequest, err))
		return
	}
	n.leaderOnly(w, r, func(ctx context.Context) error {
		return n.await(ctx, n.raft.RemoveServer(raft.ServerID(req.ID), 0, n.cfg.RequestTimeout))
	})
}

func (n *Node) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := readBody(r)
	if err == nil {
		if jerr := json.Unmarshal(body, v); jerr != nil {
			err = fmt.Errorf("%w: %v", ErrBadRequest, jerr)
		}
	}
	if err != nil {
		n.writeErr(w, err)
		return false
	}
	return true
}

func (n *Node) leaderOnly(w http.ResponseWriter, r *http.Request, fn func(context.Context) error) {
	if !n.enter() {
		n.writeErr(w, ErrClosed)
		return
	}
	defer n.leave()
	if n.raft.State() != raft.Leader {
		n.writeErr(w, raft.ErrNotLeader)
		return
	}
	ctx, cancel := n.bound(r.Context())
	defer cancel()
	if err := fn(ctx); err != nil {
		n.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	if !n.enter() {
		n.writeErr(w, ErrClosed)
		return
	}
	defer n.leave()
	st, err := n.Status()
	if err != nil {
		n.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", contentJSON)
	json.NewEncoder(w).Encode(st)
}

// writeErr answers err as an rpcError. Messages never contain command bytes.
func (n *Node) writeErr(w http.ResponseWriter, err error) {
	e := rpcError{Kind: "internal", Msg: err.Error()}
	status := http.StatusInternalServerError
	var app appError
	switch {
	case errors.As(err, &app):
		e.Kind, status = "app", http.StatusConflict
		e.Code, e.Msg = n.sm.errorCode(app.err)
	case errors.Is(err, ErrBadRequest):
		e.Kind, status = "bad-request", http.StatusBadRequest
	case errors.Is(err, ErrClosed), errors.Is(err, raft.ErrRaftShutdown):
		e.Kind, status = "closed", http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, ErrUnavailable):
		e.Kind, status = "unavailable", http.StatusServiceUnavailable
	case retryable(err):
		e.Kind, status = "not-leader", http.StatusServiceUnavailable
		if _, addr := n.Leader(); addr != n.Addr() {
			e.Leader = addr
		}
	}
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

// rpcCall posts body to path on addr and returns the 200 response body. Failures are
// *rpcError (answered by the peer; Retry says whether another attempt may succeed)
// or wrap errUnreachable (transport) or the context's error.
func rpcCall(ctx context.Context, hc *http.Client, addr, path string, body []byte, stale bool, errFrom func(int, string) error) ([]byte, error) {
	method := http.MethodPost
	var rd io.Reader = bytes.NewReader(body)
	if body == nil {
		method, rd = http.MethodGet, nil
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+rpcPrefix+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUnreachable, addr, err)
	}
	if stale {
		req.Header.Set(headerStale, "1")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %v", errUnreachable, addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, ResponseBytesMax+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: read response: %v", errUnreachable, addr, err)
	}
	if len(b) > ResponseBytesMax {
		return nil, fmt.Errorf("cluster: %s: response exceeds %d bytes", addr, ResponseBytesMax)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return b, nil
	}
	e := &rpcError{Status: resp.StatusCode}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), contentJSON) || json.Unmarshal(b, e) != nil {
		e.Kind, e.Msg = "internal", fmt.Sprintf("unexpected %d response", resp.StatusCode)
	}
	switch e.Kind {
	case "not-leader", "closed", "unavailable":
		e.Retry = true
	case "app":
		if errFrom != nil {
			e.app = errFrom(e.Code, e.Msg)
		}
	}
	return b, e
}

func (n *Node) rpcApply(ctx context.Context, hc *http.Client, addr string, cmd []byte) ([]byte, error) {
	return rpcCall(ctx, hc, addr, "apply", cmd, false, n.sm.errorFrom)
}

func (n *Node) rpcJoinVia(ctx context.Context, addr string, p Peer) error {
	b, _ := json.Marshal(p)
	_, err := rpcCall(ctx, n.hc, addr, "join", b, false, nil)
	return err
}

func (n *Node) rpcRemove(ctx context.Context, addr, id string) error {
	b, _ := json.Marshal(map[string]string{"id": id})
	_, err := rpcCall(ctx, n.hc, addr, "remove", b, false, nil)
	return err
}
