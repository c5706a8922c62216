package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the largest NATS message the embedded server accepts. A
// log entry is kept well under it (entryBytes); search answers and media
// of one object travel as single messages too.
const MaxPayload = 8 << 20

// NATSConfig describes the embedded NATS server of a node.
type NATSConfig struct {
	Cluster string // the NATS cluster name (the Rosetta cluster's)
	Node    string // the server name (the node's)
	// Listen is the client port (HOST:PORT); ClusterListen the route port
	// the other servers connect to; Peers the other servers' route ports.
	Listen, ClusterListen string
	Peers                 []string
	Dir                   string // JetStream's file store
	// RouteAdvertise, when set, is the route address this server tells
	// its peers to gossip (NATS' cluster.advertise): the address the other
	// servers can reach it at, when that is not ClusterListen (a proxy, a
	// NAT). Servers open direct routes to peers they learn about this
	// way besides the ones in Peers.
	RouteAdvertise string
	// Monitor, when set, is the HTTP monitoring address (/varz, /jsz):
	// what encoders and ingest clients joining with --nats-url read to
	// check the sync setting.
	Monitor string
}

// StartNATS starts an embedded NATS server with JetStream, file-backed
// and syncing every write (sync_interval: always), routed to its peers.
// It does not advertise the cluster's client URLs to clients
// (NoAdvertise): a node's client talks to its own server.
func StartNATS(c NATSConfig) (*server.Server, error) {
	host, port, err := splitHostPort(c.Listen, "--nats-listen")
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: c.Node, Host: host, Port: port,
		JetStream: true, StoreDir: filepath.Join(c.Dir, "jetstream"),
		SyncAlways: true, MaxPayload: MaxPayload,
		NoSigs: true, NoLog: true,
		JetStreamMaxMemory: 256 << 20,
	}
	if c.Monitor != "" {
		mh, mp, err := splitHostPort(c.Monitor, "--nats-monitor-listen")
		if err != nil {
			return nil, err
		}
		opts.HTTPHost, opts.HTTPPort = mh, mp
	}
	if c.ClusterListen != "" {
		ch, cp, err := splitHostPort(c.ClusterListen, "--nats-cluster-listen")
		if err != nil {
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{Name: c.Cluster, Host: ch, Port: cp, NoAdvertise: true, Advertise: c.RouteAdvertise}
		for _, p := range c.Peers {
			if _, _, err := splitHostPort(p, "--nats-peers"); err != nil {
				return nil, err
			}
			opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", Host: p})
		}
	} else if len(c.Peers) > 0 {
		return nil, fmt.Errorf("--nats-peers needs --nats-cluster-listen")
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats: the embedded server did not start listening on %s within 30s", c.Listen)
	}
	return s, nil
}

func splitHostPort(hp, flag string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %v", flag, hp, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%s %q: bad port", flag, hp)
	}
	return h, n, nil
}

// CheckSyncAlways asks an external NATS server's monitoring endpoint
// (http://host:8222) whether JetStream syncs every write; a cluster that
// fsyncs on NATS' default 2-minute interval can lose acknowledged writes
// on power loss, so Rosetta refuses it unless told otherwise.
func CheckSyncAlways(ctx context.Context, monitor string) error {
	u := strings.TrimSuffix(monitor, "/") + "/varz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("--nats-monitor: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("--nats-monitor: cannot read %s to check JetStream's sync setting: %w", u, err)
	}
	defer resp.Body.Close()
	var v struct {
		JetStream struct {
			Config *struct {
				SyncAlways   bool          `json:"sync_always"`
				SyncInterval time.Duration `json:"sync_interval"`
			} `json:"config"`
		} `json:"jetstream"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return fmt.Errorf("--nats-monitor: %s: %w", u, err)
	}
	if v.JetStream.Config == nil {
		return fmt.Errorf("the NATS server at %s does not run JetStream", monitor)
	}
	if !v.JetStream.Config.SyncAlways {
		return fmt.Errorf("the NATS server at %s syncs JetStream every %s, not on every write: set jetstream { sync_interval: always } on every server (acknowledged writes can be lost on power loss otherwise), or pass --nats-allow-unsafe-sync", monitor, v.JetStream.Config.SyncInterval)
	}
	return nil
}
