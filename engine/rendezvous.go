package engine

import (
	"encoding/binary"
	"hash/fnv"
)

// RendezvousOwner returns which of nodes should own shard: the node with
// the highest weight, FNV-1a 64 of the node id and the shard number
// (highest random weight, or rendezvous, hashing). Every node computes the
// same answer from the same set of live nodes, and a node joining or
// leaving changes the answer only for the shards it wins or held: about
// 1/k of them with k nodes. Empty when nodes is empty.
func RendezvousOwner(shard int, nodes []string) string {
	var best string
	var bestW uint64
	for _, n := range nodes {
		if w := rendezvousWeight(shard, n); best == "" || w > bestW || w == bestW && n < best {
			best, bestW = n, w
		}
	}
	return best
}

func rendezvousWeight(shard int, node string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(node)) // hash.Hash never fails
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(shard))
	_, _ = h.Write(b[:])
	// FNV's low bits mix poorly for inputs that differ only at the end:
	// finish with a 64-bit avalanche (splitmix64's).
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
