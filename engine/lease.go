package engine

import (
	"errors"
	"time"
)

// Shard leases (DESIGN.md "Cluster"): liveness, not safety. A node holds a
// shard's lease in Redis while it serves the shard and renews it every TTL/3;
// a node that cannot prove it still holds a lease (Until has passed, or a
// renewal was refused) stops writing the shard. Safety stays with the
// shard's epoch (ShardEpoch): a lease has no fencing token.

// Lease is a node's claim on one shard.
type Lease struct {
	Shard int
	Node  string // the holder's node id
	URL   string // the holder's advertised base URL
	// Until is when the holder's claim ends by its own clock, unless renewed
	// before: the acquisition's or last renewal's start plus the lease TTL,
	// minus the time the call took and a clock-drift allowance. The holder
	// may act for the shard only before Until. Zero on a lease read by
	// someone else (only the holder knows its validity).
	Until time.Time
	// Token is the holder's proof of holding, random per acquisition; it is
	// needed to renew or release the lease and is empty on a lease read by
	// someone else. It is not a fencing token: it does not grow.
	Token string
}

// LeaseResult is the outcome of renewing one lease of a batch: the lease
// with its new Until, or the lease as it was and why it was not renewed.
type LeaseResult struct {
	Lease Lease
	Err   error
}

// LiveNode is a node that announced itself and whose announcement has not
// expired.
type LiveNode struct {
	ID  string
	URL string
}

// ErrLeaseLost means a lease can no longer be renewed or released by its
// holder: it expired (by the holder's clock or in Redis) or another node
// holds it now. The holder must stop acting for the shard; taking it again
// is a new acquisition (and a new epoch). It is distinct from
// ErrUnavailable, which means the lease store could not say.
var ErrLeaseLost = errors.New("lease lost")
