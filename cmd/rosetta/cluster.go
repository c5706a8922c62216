package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"rosetta/cluster"
	"rosetta/engine"
)

// clusterFlags are serve's (and ingest's) cluster-mode flags.
type clusterFlags struct {
	name, node, role                  string
	natsListen, natsClusterListen     string
	natsPeers                         []string
	natsURL, natsMonitor, monitorAt   string
	allowUnsafeSync                   bool
	streamReplicas                    int
	heartbeat, nodeTTL, moveAfter     time.Duration
	waitApplied, requestTimeout, work time.Duration
}

func (c *clusterFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.name, "cluster", "", "run as a node of this cluster (NATS JetStream; see docs/cluster.md)")
	f.StringVar(&c.node, "node", "", "this node's name, unique in the cluster (default: the host name)")
	f.StringVar(&c.role, "role", cluster.RoleData, "data (holds shard replicas, answers the API) or encoder (pulls ingest work and encodes it)")
	f.StringVar(&c.natsListen, "nats-listen", "127.0.0.1:4222", "the embedded NATS server's client address")
	f.StringVar(&c.natsClusterListen, "nats-cluster-listen", "", "the embedded NATS server's route address, which the other nodes' --nats-peers name")
	f.StringSliceVar(&c.natsPeers, "nats-peers", nil, "the other nodes' NATS route addresses (HOST:PORT,HOST:PORT)")
	f.StringVar(&c.monitorAt, "nats-monitor-listen", "", "serve the embedded NATS server's monitoring endpoint (/varz) here, for encoders and ingest clients joining with --nats-url")
	f.StringVar(&c.natsURL, "nats-url", "", "join an external NATS cluster (nats://host:4222,...) instead of embedding a server")
	f.StringVar(&c.natsMonitor, "nats-monitor", "", "with --nats-url: an external server's monitoring URL (http://host:8222), read to check JetStream syncs every write")
	f.BoolVar(&c.allowUnsafeSync, "nats-allow-unsafe-sync", false, "with --nats-url: run even if JetStream does not sync every write (acknowledged writes can be lost on power loss)")
	f.IntVar(&c.streamReplicas, "stream-replicas", 0, "JetStream replicas of every stream and bucket (default 3, or the embedded servers' count if fewer)")
	f.DurationVar(&c.heartbeat, "heartbeat", time.Second, "how often a node announces itself")
	f.DurationVar(&c.nodeTTL, "node-ttl", 5*time.Second, "a node silent this long gets no requests")
	f.DurationVar(&c.moveAfter, "move-after", 30*time.Second, "a node silent this long loses its shard replicas to others")
	f.DurationVar(&c.waitApplied, "wait-applied", 5*time.Second, "how long a read_your_writes search waits for replicas to apply")
	f.DurationVar(&c.requestTimeout, "request-timeout", 10*time.Second, "bound on one request to a replica and one publish to a shard log")
	f.DurationVar(&c.work, "work-ack-wait", cluster.WorkAckWait, "encoder: how long one work item may take before another worker gets it")
}

// addClient registers the flags of a cluster client (rosetta ingest).
func (c *clusterFlags) addClient(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.name, "cluster", "", "queue the files as work for this cluster's encoder workers (rosetta serve --role encoder) instead of writing them here; needs --nats-url")
	f.StringVar(&c.natsURL, "nats-url", "", "with --cluster: a cluster node's NATS client address (nats://host:4222)")
	f.StringVar(&c.natsMonitor, "nats-monitor", "", "with --cluster: a NATS server's monitoring URL (a node's --nats-monitor-listen), to check JetStream syncs every write")
	f.BoolVar(&c.allowUnsafeSync, "nats-allow-unsafe-sync", false, "with --cluster: queue work even if JetStream does not sync every write")
	f.DurationVar(&c.requestTimeout, "request-timeout", 10*time.Second, "with --cluster: bound on one request to a replica and one publish")
}

// clusterSink is ingest's sink for --cluster: files are queued as work
// items (bytes in the cluster's blob bucket) for the encoder workers;
// listing, reads and deletes (for skipping unchanged files and --prune)
// go to the shard replicas.
type clusterSink struct{ n *cluster.Node }

func (s clusterSink) Collection(ctx context.Context, name string) (engine.Collection, error) {
	return s.n.GetCollection(ctx, name)
}

func (s clusterSink) CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error) {
	return engine.Collection{}, fmt.Errorf("%w: with --cluster, create collection %q through a node's REST API first (POST /v1/collections)", engine.ErrUnsupported, c.Name)
}

func (s clusterSink) Upsert(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error) {
	return s.n.SubmitWork(ctx, coll, objs)
}

func (s clusterSink) Scan(ctx context.Context, coll string, fn func(engine.Object) error) error {
	after := uint64(0)
	for {
		page, err := s.n.ListObjects(ctx, coll, after, 1000)
		if err != nil {
			return err
		}
		for _, o := range page {
			if err := fn(o); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (s clusterSink) Delete(ctx context.Context, coll string, ids []uint64) error {
	for _, id := range ids {
		if err := s.n.DeleteObject(ctx, coll, id); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return err
		}
	}
	return nil
}

func (s clusterSink) Get(ctx context.Context, coll string, id uint64) (engine.Object, error) {
	return s.n.GetObject(ctx, coll, id)
}

// clusterConn is a node's NATS side: the embedded server (if any) and
// the connection.
type clusterConn struct {
	ns *natsserver.Server
	nc *nats.Conn
}

func (c *clusterConn) close() {
	if c.nc != nil {
		c.nc.Drain()
		c.nc.Close()
	}
	if c.ns != nil {
		c.ns.Shutdown()
		c.ns.WaitForShutdown()
	}
}

// connect starts the embedded NATS server (or checks the external one)
// and connects to it.
func (c *clusterFlags) connect(ctx context.Context, dataDir string, embedded bool, log *slog.Logger) (*clusterConn, error) {
	cc := &clusterConn{}
	url := c.natsURL
	switch {
	case url != "" && (c.natsClusterListen != "" || len(c.natsPeers) > 0):
		return nil, errors.New("--nats-url joins an external NATS cluster: it excludes --nats-cluster-listen and --nats-peers")
	case url != "":
		if c.natsMonitor == "" && !c.allowUnsafeSync {
			return nil, errors.New("--nats-url: give --nats-monitor http://HOST:8222 so Rosetta can check that JetStream syncs every write (sync_interval: always), or --nats-allow-unsafe-sync")
		}
		if c.natsMonitor != "" {
			if err := cluster.CheckSyncAlways(ctx, c.natsMonitor); err != nil && !c.allowUnsafeSync {
				return nil, err
			} else if err != nil {
				log.Warn("running on a NATS cluster that may lose acknowledged writes on power loss", "err", err)
			}
		}
	case !embedded:
		return nil, errors.New("give --nats-url nats://HOST:4222 (a node's --nats-listen)")
	default:
		ns, err := cluster.StartNATS(cluster.NATSConfig{Cluster: c.name, Node: c.node, Listen: c.natsListen,
			ClusterListen: c.natsClusterListen, Peers: c.natsPeers, Dir: filepath.Join(dataDir, "nats"), Monitor: c.monitorAt})
		if err != nil {
			return nil, err
		}
		cc.ns = ns
		url = ns.ClientURL()
		log.Info("embedded NATS server", "client", ns.ClientURL(), "routes", c.natsClusterListen, "peers", strings.Join(c.natsPeers, ","))
	}
	nc, err := nats.Connect(url, nats.Name("rosetta "+c.node), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		cc.close()
		return nil, fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	cc.nc = nc
	return cc, nil
}

func (c *clusterFlags) config(e *engine.Engine, nc *nats.Conn, addr string, log *slog.Logger) cluster.Config {
	r := c.streamReplicas
	if r == 0 {
		r = 3
		if c.natsURL == "" {
			r = min(3, 1+len(c.natsPeers))
		}
	}
	return cluster.Config{Name: c.name, Node: c.node, Addr: addr, Role: c.role, Engine: e, Conn: nc, Logger: log,
		StreamReplicas: r, HeartbeatEvery: c.heartbeat, NodeTTL: c.nodeTTL, MoveAfter: c.moveAfter,
		WaitApplied: c.waitApplied, RequestTimeout: c.requestTimeout, WorkAckWait: c.work}
}
