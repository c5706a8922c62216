package cluster

import (
	"sort"
	"time"
)

// Status is what GET /v1/cluster shows.
type Status struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"` // the node answering
	// Rebalancer is whether the answering node holds the rebalancing lease.
	Rebalancer  bool          `json:"rebalancer"`
	Nodes       []NodeStatus  `json:"nodes"`
	Collections []ShardLayout `json:"collections"`
}

// NodeStatus is one node as the answering node sees it.
type NodeStatus struct {
	Name     string            `json:"name"`
	Addr     string            `json:"addr"`
	Role     string            `json:"role"`
	Healthy  bool              `json:"healthy"` // heartbeat within the node TTL
	LastSeen time.Time         `json:"last_seen"`
	Started  time.Time         `json:"started"`
	Applied  map[string]uint64 `json:"applied,omitempty"` // "collection/shard" → applied log sequence
}

// ShardLayout is a collection's shard map.
type ShardLayout struct {
	Name     string     `json:"name"`
	Shards   int        `json:"shards"`
	Replicas int        `json:"replicas"`
	Epoch    uint64     `json:"epoch"`
	Serving  [][]string `json:"serving"`
	Joining  [][]string `json:"joining"`
}

// Status reports the nodes, their health and the shard maps.
func (n *Node) Status() Status {
	st := Status{Cluster: n.cfg.Name, Node: n.cfg.Node, Rebalancer: n.leader.Load(), Nodes: []NodeStatus{}, Collections: []ShardLayout{}}
	n.mu.RLock()
	for _, p := range n.peers {
		st.Nodes = append(st.Nodes, NodeStatus{Name: p.Name, Addr: p.Addr, Role: p.Role, Healthy: time.Since(p.seen) < n.cfg.NodeTTL,
			LastSeen: p.seen.UTC(), Started: p.Started, Applied: p.Applied})
	}
	for _, r := range n.colls {
		st.Collections = append(st.Collections, ShardLayout{Name: r.Schema.Name, Shards: r.Shards, Replicas: r.Replicas,
			Epoch: r.Epoch, Serving: r.Serving, Joining: r.Joining})
	}
	n.mu.RUnlock()
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].Name < st.Nodes[j].Name })
	sort.Slice(st.Collections, func(i, j int) bool { return st.Collections[i].Name < st.Collections[j].Name })
	return st
}
