package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/member"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/node"
)

// serverReady describes a started server process.
type serverReady struct {
	MetaAddr    string // advertised meta address, when the meta role runs
	StorageAddr string // advertised shard RPC address, when the storage role runs
	HTTPAddr    string // bound gateway addresses, when the gateway role runs
	HTTPSAddr   string
	Gossip      *member.Pool // when gossip is configured
}

// runServer runs the configured roles until ctx ends, then stops them cleanly: the
// gateway drains its requests first, the storage node and the meta voter (which hands
// leadership on) last. ready, when set, is called once every role is up (the gateway
// ready to serve).
func runServer(ctx context.Context, cfg serverConfig, lookup env, log *slog.Logger, ready func(serverReady)) (err error) {
	mtls, err := loadNodeTLS(cfg.TLS)
	if err != nil {
		return err
	}
	serverTLS, clientTLS := mtls.server(), mtls.client()
	st := &stack{log: log}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if serr := st.stop(sctx); serr != nil && err == nil {
			err = serr
		}
		if err == nil {
			log.Info("server stopped")
		}
	}()
	var r serverReady

	// Bind every port first, so a conflict fails before anything starts.
	var httpLn, httpsLn, storageLn net.Listener
	if g := cfg.Gateway; g != nil {
		if httpLn, httpsLn, err = listenGateway(g.HTTPAddr, g.HTTPSAddr); err != nil {
			return err
		}
		st.push("gateway ports", func(context.Context) error {
			for _, ln := range []net.Listener{httpLn, httpsLn} {
				if ln != nil {
					ln.Close()
				}
			}
			return nil
		})
	}
	if s := cfg.Storage; s != nil {
		if storageLn, err = net.Listen("tcp", s.Listen); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
	}

	// Gossip next, so peers find this process while its roles start.
	if g := cfg.Gossip; g != nil {
		adv := serverReady{}
		if cfg.Meta != nil {
			adv.MetaAddr = cfg.Meta.Advertise
		}
		if cfg.Storage != nil {
			adv.StorageAddr = cfg.Storage.Advertise
		}
		if httpLn != nil {
			adv.HTTPAddr = httpLn.Addr().String()
		}
		if httpsLn != nil {
			adv.HTTPSAddr = httpsLn.Addr().String()
		}
		if r.Gossip, err = startGossip(ctx, st, cfg, g, adv, log.With("component", "gossip")); err != nil {
			if storageLn != nil {
				storageLn.Close()
			}
			return err
		}
	}

	if m := cfg.Meta; m != nil {
		n, err := startMeta(ctx, st, cluster.Config{
			ID: m.ID, DataDir: m.DataDir, BindAddr: m.Listen, Advertise: m.Advertise,
			Bootstrap: m.Bootstrap, Join: m.Join,
			ServerTLS: serverTLS, ClientTLS: clientTLS, Logger: log.With("component", "meta"),
		})
		if err != nil {
			if storageLn != nil {
				storageLn.Close()
			}
			return err
		}
		r.MetaAddr = n.Addr()
	}

	var client *cluster.Client
	if cfg.Storage != nil || cfg.Gateway != nil {
		if client, err = cluster.NewClient(cluster.ClientConfig{Addrs: cfg.MetaAddrs, TLS: clientTLS}); err != nil {
			if storageLn != nil {
				storageLn.Close()
			}
			return fmt.Errorf("meta client: %w", err)
		}
		st.push("meta client", func(context.Context) error { return client.Close() })
	}

	if s := cfg.Storage; s != nil {
		nlog := log.With("component", "storage", "node", s.ID)
		sp, err := startStorage(st, s.ID, s.Zone, s.Advertise, s.CapacityBytes, storageLn, node.Config{Dir: s.DataDir, FreeBytesMin: s.FreeBytesMin, SweepGrace: sweepGrace}, serverTLS, nlog)
		if err != nil {
			return err
		}
		startSweeper(st, sp, client, sweepInterval, nlog)
		r.StorageAddr = sp.addr
		if err := registerStorage(ctx, client, []meta.StorageNode{sp.layoutNode()}, nlog); err != nil {
			return err
		}
	}

	if g := cfg.Gateway; g != nil {
		gp, err := startServerGateway(ctx, st, g, client, clientTLS, lookup, httpLn, httpsLn, log.With("component", "gateway"))
		if err != nil {
			return err
		}
		r.HTTPAddr, r.HTTPSAddr = gp.HTTPAddr, gp.HTTPSAddr
	}
	if r.Gossip != nil {
		// Stopped first: peers learn of a planned departure before anything closes.
		pool := r.Gossip
		glog := log.With("component", "gossip")
		st.push("gossip leave", func(context.Context) error {
			// The pool is closed whatever Leave returns. A broadcast nobody received
			// (the last process of a cluster going down) is no failure of this stop.
			if err := pool.Leave(gossipLeaveTimeout); err != nil {
				glog.Info("left the gossip pool without confirmation", "reason", err.Error())
			}
			return nil
		})
	}
	log.Info("server ready", "meta", r.MetaAddr, "storage", r.StorageAddr, "http", r.HTTPAddr, "https", r.HTTPSAddr)
	if ready != nil {
		ready(r)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return nil
}

// waitLayout waits until the cluster layout has at least n active storage nodes.
func waitLayout(ctx context.Context, c *cluster.Client, n int, log *slog.Logger) error {
	logged := time.Now()
	for {
		l, err := c.Layout(ctx, cluster.ReadOptions{})
		active := 0
		for _, sn := range l.Nodes {
			if sn.State == meta.NodeActive {
				active++
			}
		}
		if err == nil && active >= n {
			return nil
		}
		if time.Since(logged) >= readyLogInterval {
			logged = time.Now()
			log.Warn("waiting for storage nodes to register", "active", active, "need", n, "error", errString(err))
		}
		t := time.NewTimer(readyPollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for %d storage nodes: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// gossipLeaveTimeout bounds leaving the gossip pool on shutdown.
const gossipLeaveTimeout = 5 * time.Second

// startGossip joins the gossip pool, advertising this process's roles and addresses
// (adv). The stack closes the pool if the start fails; runServer adds a deliberate
// Leave once everything runs.
func startGossip(ctx context.Context, st *stack, cfg serverConfig, g *gossipConfig, adv serverReady, log *slog.Logger) (*member.Pool, error) {
	key, err := readSecretFile(g.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("gossip key: %w", err)
	}
	nm := member.NodeMeta{RPCAddr: adv.StorageAddr, RaftAddr: adv.MetaAddr, APIAddr: adv.HTTPAddr, ProtocolVersion: 1}
	if cfg.Meta != nil {
		nm.Roles = append(nm.Roles, member.RoleMeta)
	}
	if cfg.Storage != nil {
		nm.Roles = append(nm.Roles, member.RoleStorage)
		nm.Zone = cfg.Storage.Zone
	}
	if cfg.Gateway != nil {
		nm.Roles = append(nm.Roles, member.RoleGateway)
		if nm.APIAddr == "" {
			nm.APIAddr = adv.HTTPSAddr
		}
	}
	pool, err := member.Start(ctx, member.Config{
		Name: cfg.NodeID, BindAddr: g.BindHost, BindPort: g.BindPort,
		AdvertiseAddr: g.AdvertiseHost, AdvertisePort: g.AdvertisePort,
		Seeds: g.Seeds, SecretKey: key, Label: g.Label, Meta: nm, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	st.push("gossip", func(context.Context) error { return pool.Close() })
	log.Info("joined gossip pool", "addr", pool.LocalAddr(), "seeds", len(g.Seeds))
	return pool, nil
}

// startServerGateway loads the gateway's secrets, serves it, bootstraps the cluster's
// key ring and root user, starts the garbage collector and waits until it is ready.
func startServerGateway(ctx context.Context, st *stack, g *gatewayConfig, client *cluster.Client, clientTLS *tls.Config, lookup env, httpLn, httpsLn net.Listener, log *slog.Logger) (*gatewayPart, error) {
	rootKey, err := loadRootKey(g.RootKeyFile, lookup)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(g.CredentialsFile, lookup)
	if err != nil {
		return nil, err
	}
	var public tls.Certificate
	if httpsLn != nil {
		if public, err = tls.LoadX509KeyPair(g.PublicCert, g.PublicKey); err != nil {
			return nil, fmt.Errorf("public-cert/public-key: %w", err)
		}
	}
	gm := gateway.ClusterMeta(client)
	gw, err := gateway.New(gateway.Config{
		Domain: g.Domain, Region: g.Region, Geometry: erasure.DefaultGeometry, RootKey: rootKey, Logger: log,
		ShardClient: node.ClientConfig{TLS: clientTLS}, RotationPeriod: g.KeyRotationPeriod,
	}, gm)
	if err != nil {
		return nil, err
	}
	gp := serveGateway(st, gw, httpLn, httpsLn, public, log)
	if creds.AccessKeyID == "" {
		log.Warn("no root credentials configured: only existing users can sign requests")
	}
	if err := bootstrapGateway(ctx, gateway.Bootstrap{
		RootKey: rootKey, RootAccessKey: creds.AccessKeyID, RootSecretKey: creds.SecretKey,
		Now: time.Now, Rand: rand.Reader,
	}, gm, log); err != nil {
		return nil, err
	}
	startGC(st, gw, log)
	// The gateway caches the layout it first reads for a while; probing it before the
	// storage nodes registered would keep it unready for that long.
	if err := waitLayout(ctx, client, erasure.DefaultGeometry.TotalShards(), log); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, gw, log); err != nil {
		return nil, err
	}
	return gp, nil
}
