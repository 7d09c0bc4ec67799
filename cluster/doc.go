// Package cluster keeps this node's share of the shards (DESIGN.md
// "Cluster"): a control loop that announces the node, renews the leases
// of the shards it holds, and moves shards so that each is held by the
// node rendezvous hashing names among the live nodes — taking free shards
// it should own (lease first, then a new epoch, then ownership in the
// inventory) and handing back those it should not (intake stopped, work in
// flight finished, then the epoch's owner cleared and the lease released),
// a bounded number per round.
//
// Safety is not the loop's job: every commit is fenced by the shard's
// epoch in PostgreSQL, and the inventory stops intake for a shard when its
// lease's validity (minus a drift margin) passes, whether or not the loop
// runs. The loop provides liveness: shards of a node that died are taken
// within about one lease TTL.
//
// cluster imports engine (and zerolog for its log); its ports (Leases, Epochs, Owner) are
// implemented by persist and actors and wired by cmd.
package cluster
