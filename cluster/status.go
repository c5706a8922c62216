package cluster

import (
	"sort"
	"time"

	"rosetta/api"
)

// ClusterStatus is what GET /v1/cluster shows: the nodes as this node
// sees them, their health, and every collection's shard map.
func (n *Node) ClusterStatus() api.ClusterStatus {
	st := api.ClusterStatus{Cluster: n.cfg.Name, Node: n.cfg.Node, Rebalancer: n.leader.Load(),
		Nodes: []api.ClusterNode{}, Collections: []api.ClusterCollection{}}
	n.mu.RLock()
	for _, p := range n.peers {
		st.Nodes = append(st.Nodes, api.ClusterNode{Name: p.Name, Addr: p.Addr, Role: p.Role, Healthy: time.Since(p.seen) < n.cfg.NodeTTL,
			LastSeen: p.seen.UTC(), Started: p.Started, Applied: p.Applied})
	}
	for _, r := range n.colls {
		st.Collections = append(st.Collections, api.ClusterCollection{Name: r.Schema.Name, Shards: r.Shards, Replicas: r.Replicas,
			Epoch: r.Epoch, Serving: r.Serving, Joining: r.Joining})
	}
	n.mu.RUnlock()
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].Name < st.Nodes[j].Name })
	sort.Slice(st.Collections, func(i, j int) bool { return st.Collections[i].Name < st.Collections[j].Name })
	return st
}
