package persist

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
)

// Shard leases and node announcements (lease_nodes.go; DESIGN.md
// "Cluster"), in one Redis or, with three or more, under a Redlock quorum
// (redsync: a majority of the servers must agree). Keys, on every server:
//
//	<prefix>shard:<n>   the lease of shard n: {"node":…,"url":…,"token":…},
//	                    the holder's id, advertised URL and a random token
//	                    of this acquisition; it expires after the lease TTL
//	                    unless renewed
//	<prefix>node:<id>   node id's advertised URL; it expires after the lease
//	                    TTL unless announced again
//
// A lease is liveness only: Redis has no fencing token and a Redis that
// restarts without its data forgets leases, so a node's writes are fenced by
// the shard's epoch in PostgreSQL (shard.go), never by its lease.

const (
	// LeaseTTLMin and LeaseTTLMax bound the lease TTL.
	LeaseTTLMin = time.Second
	LeaseTTLMax = 5 * time.Minute
	// LeaseURLsMax bounds the servers of a Redlock quorum.
	LeaseURLsMax = 9
	// ExtendConcurrencyMax bounds the renewals ExtendAll runs at once (and
	// sizes each server's connection pool).
	ExtendConcurrencyMax = 32
	// leaseOpTimeoutMin and leaseOpTimeoutMax bound one lease store call
	// per server, otherwise a fifth of the TTL: a slow server must not eat
	// the validity it is asked to extend.
	leaseOpTimeoutMin = 200 * time.Millisecond
	leaseOpTimeoutMax = 2 * time.Second
	// leaseDriftFactor is the share of the TTL taken off a lease's validity
	// for clock drift between this node and the servers (redsync's default).
	leaseDriftFactor = 0.01
	// liveNodesMax bounds the announced nodes LiveNodes reads.
	liveNodesMax = 1024
	// nodeScanCount is the COUNT hint of each SCAN over announcements.
	nodeScanCount = 100
	// leaseNodeBytesMax and leaseURLBytesMax bound a node id and a URL.
	leaseNodeBytesMax = 128
	leaseURLBytesMax  = 1024
)

// LeaseConfig says where leases live and how long they last.
type LeaseConfig struct {
	// URLs are the Redis servers: one, or three or more for a Redlock quorum
	// (two have no majority that survives one of them).
	URLs []string
	// Prefix starts every key (FLASHSTOCK_REDIS_PREFIX); required.
	Prefix string
	// TTL is a lease's and an announcement's validity; holders renew every
	// TTL/3.
	TTL time.Duration
}

// Validate reports every unusable field.
func (c LeaseConfig) Validate() error {
	var errs []error
	switch n := len(c.URLs); {
	case n == 0:
		errs = append(errs, errors.New("at least one lease Redis URL is required"))
	case n == 2:
		errs = append(errs, errors.New("2 lease Redis URLs have no quorum that survives one of them: use 1, or 3 or more"))
	case n > LeaseURLsMax:
		errs = append(errs, fmt.Errorf("at most %d lease Redis URLs", LeaseURLsMax))
	}
	seen := make(map[string]bool, len(c.URLs))
	for i, u := range c.URLs {
		if _, err := redis.ParseURL(u); err != nil {
			errs = append(errs, fmt.Errorf("lease Redis URL %d does not parse", i+1))
		}
		if seen[u] {
			errs = append(errs, fmt.Errorf("lease Redis URL %d is listed twice (it would count twice in the quorum)", i+1))
		}
		seen[u] = true
	}
	if c.Prefix == "" {
		errs = append(errs, errors.New("lease key prefix is required"))
	}
	if c.TTL < LeaseTTLMin || c.TTL > LeaseTTLMax {
		errs = append(errs, fmt.Errorf("lease TTL must be between %s and %s", LeaseTTLMin, LeaseTTLMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("persist lease config: %w", err)
	}
	return nil
}

// Redacted returns c with the passwords in URLs masked, for logging.
func (c LeaseConfig) Redacted() LeaseConfig {
	urls := make([]string, len(c.URLs))
	for i, u := range c.URLs {
		urls[i] = redactURL(u)
	}
	c.URLs = urls
	return c
}

// Leases is the lease and announcement store. Its methods are safe for
// concurrent use; every call is bounded by the operation timeout (a fifth
// of the TTL, 200 ms to 2 s) whatever ctx allows.
type Leases struct {
	clients   []*redis.Client
	rs        *redsync.Redsync
	prefix    string
	ttl       time.Duration
	opTimeout time.Duration
	quorum    int // servers that must agree: a majority
}

// NewLeases validates cfg and makes a client per server. It does no I/O:
// see Ping.
func NewLeases(cfg LeaseConfig) (*Leases, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Leases{prefix: cfg.Prefix, ttl: cfg.TTL, quorum: len(cfg.URLs)/2 + 1,
		opTimeout: min(max(cfg.TTL/5, leaseOpTimeoutMin), leaseOpTimeoutMax)}
	pools := make([]redsyncredis.Pool, len(cfg.URLs))
	for i, u := range cfg.URLs {
		opts, err := redis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("persist: parse lease redis URL %d: %w", i+1, engine.ErrInvalid)
		}
		opts.PoolSize = ExtendConcurrencyMax
		// No retries, of commands or dials (go-redis dials 5 times, 100 ms
		// apart, by default): a retry would spend validity, and the
		// caller's next round is the retry.
		opts.MaxRetries, opts.DialerRetries = -1, 1
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = l.opTimeout, l.opTimeout, l.opTimeout
		opts.ContextTimeoutEnabled = true
		opts.DisableIdentity = true
		c := redis.NewClient(opts)
		l.clients = append(l.clients, c)
		pools[i] = goredis.NewPool(c)
	}
	l.rs = redsync.New(pools...)
	return l, nil
}

// TTL returns the lease TTL: renew leases and announcements every TTL/3.
func (l *Leases) TTL() time.Duration { return l.ttl }

// Ping checks that a quorum of the servers answers; otherwise it is
// engine.ErrUnavailable.
func (l *Leases) Ping(ctx context.Context) error {
	errs := l.onEach(ctx, func(ctx context.Context, _ int, c *redis.Client) error { return c.Ping(ctx).Err() })
	return l.quorumError("ping lease redis", errs)
}

// Close closes every server's connections.
func (l *Leases) Close() error {
	var errs []error
	for _, c := range l.clients {
		errs = append(errs, c.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("persist: close lease redis: %w", err)
	}
	return nil
}

// TryAcquire takes shard's lease for node (advertised at url) with a single
// try, and returns it with its validity. A lease held already (a quorum
// says so; by another node, or by this one under an earlier acquisition) is
// engine.ErrConflict; when the servers cannot say (down,
// slow, no quorum either way) it is engine.ErrUnavailable, and nothing is
// held: a partial acquisition is undone before returning.
func (l *Leases) TryAcquire(ctx context.Context, shard int, node, url string) (engine.Lease, error) {
	op := "acquire lease of shard " + strconv.Itoa(shard)
	if err := checkLeaseHolder(shard, node, url); err != nil {
		return engine.Lease{}, fmt.Errorf("%s: %w", op, err)
	}
	lease := engine.Lease{Shard: shard, Node: node, URL: url, Token: rand.Text()}
	value, err := leaseValue(lease)
	if err != nil {
		return engine.Lease{}, fmt.Errorf("%s: %w", op, err)
	}
	m := l.mutex(shard, redsync.WithGenValueFunc(func() (string, error) { return value, nil }))
	if err := m.TryLockContext(ctx); err != nil {
		return engine.Lease{}, leaseError(op, err, fmt.Errorf("%w: held by another holder", engine.ErrConflict))
	}
	lease.Until = m.Until()
	return lease, nil
}

// Extend renews lease for another TTL and returns it with its new
// validity, or as it was with the reason it was not renewed. A lease whose
// Until has passed, or which the servers no longer hold with its token
// (expired there, or taken by another holder), is engine.ErrLeaseLost: it
// is never taken again here (no SET NX on extend), since a gap in holding
// may have let another node act for the shard; acquire it anew. When the
// servers cannot say it is engine.ErrUnavailable: the lease may still be
// held, and may be renewed again before its Until.
func (l *Leases) Extend(ctx context.Context, lease engine.Lease) (engine.Lease, error) {
	op := "extend lease of shard " + strconv.Itoa(lease.Shard)
	m, err := l.heldMutex(lease)
	if err != nil {
		return lease, fmt.Errorf("%s: %w", op, err)
	}
	if !time.Now().Before(lease.Until) {
		return lease, fmt.Errorf("%s: %w: its validity ran out before the renewal", op, engine.ErrLeaseLost)
	}
	ctx, cancel := context.WithTimeout(ctx, l.opTimeout)
	defer cancel()
	if ok, err := m.ExtendContext(ctx); !ok {
		return lease, leaseError(op, err, engine.ErrLeaseLost)
	}
	lease.Until = m.Until()
	return lease, nil
}

// ExtendAll renews leases, at most concurrency at a time (1 to
// ExtendConcurrencyMax), and returns each one's outcome in leases' order
// (see Extend).
func (l *Leases) ExtendAll(ctx context.Context, leases []engine.Lease, concurrency int) []engine.LeaseResult {
	results := make([]engine.LeaseResult, len(leases))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(concurrency, 1), ExtendConcurrencyMax, len(leases)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(leases); i = int(next.Add(1) - 1) {
				results[i].Lease, results[i].Err = l.Extend(ctx, leases[i])
			}
		})
	}
	wg.Wait()
	return results
}

// Release gives lease back if the servers still hold it with its token;
// otherwise it changes nothing and is engine.ErrLeaseLost (it expired, or
// another holder has it now). When the servers cannot say it is
// engine.ErrUnavailable; the lease then expires by itself.
func (l *Leases) Release(ctx context.Context, lease engine.Lease) error {
	op := "release lease of shard " + strconv.Itoa(lease.Shard)
	m, err := l.heldMutex(lease)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, l.opTimeout)
	defer cancel()
	if ok, err := m.UnlockContext(ctx); !ok {
		return leaseError(op, err, engine.ErrLeaseLost)
	}
	return nil
}

// Holder returns who holds shard's lease (Shard, Node and URL; no Until or
// Token): the value a quorum of the servers holds. No holder is
// engine.ErrNotFound; engine.ErrUnavailable when too few servers answer to
// tell.
func (l *Leases) Holder(ctx context.Context, shard int) (engine.Lease, error) {
	op := "read lease of shard " + strconv.Itoa(shard)
	values := make([]string, len(l.clients))
	errs := l.onEach(ctx, func(ctx context.Context, i int, c *redis.Client) error {
		v, err := c.Get(ctx, l.shardKey(shard)).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		values[i] = v
		return err
	})
	votes := make(map[string]int, len(values))
	best, failed := "", 0
	for i, v := range values {
		switch {
		case errs[i] != nil:
			failed++
		case v != "":
			if votes[v]++; votes[v] > votes[best] {
				best = v
			}
		}
	}
	switch {
	case best != "" && votes[best] >= l.quorum:
		lease, err := parseLeaseValue(best)
		if err != nil {
			return engine.Lease{}, fmt.Errorf("%s: %w", op, err)
		}
		lease.Shard = shard
		return lease, nil
	case votes[best]+failed < l.quorum: // even the servers that failed could not make a holder
		return engine.Lease{}, fmt.Errorf("%s: %w: no holder", op, engine.ErrNotFound)
	}
	return engine.Lease{}, wrapRedisError(op, errors.Join(errs...))
}

// mutex returns redsync's handle on shard's lease: one try, the lease TTL,
// calls bounded by the operation timeout, answered as soon as a quorum
// agrees.
func (l *Leases) mutex(shard int, opts ...redsync.Option) *redsync.Mutex {
	return l.rs.NewMutex(l.shardKey(shard), append([]redsync.Option{
		redsync.WithExpiry(l.ttl), redsync.WithTries(1), redsync.WithDriftFactor(leaseDriftFactor),
		redsync.WithTimeoutFactor(float64(l.opTimeout) / float64(l.ttl)), redsync.WithFailFast(true),
	}, opts...)...)
}

// heldMutex returns the handle on a lease this node holds: redsync's
// scripts touch or delete the key only while it holds lease's own value.
func (l *Leases) heldMutex(lease engine.Lease) (*redsync.Mutex, error) {
	if lease.Token == "" {
		return nil, engine.Invalid("lease", "has no token: it was not acquired here")
	}
	value, err := leaseValue(lease)
	if err != nil {
		return nil, err
	}
	return l.mutex(lease.Shard, redsync.WithValue(value)), nil
}

// leaseError maps redsync's outcome of a call that did not succeed: a
// quorum of servers that hold another value (or none) is refused; a server
// that failed, or a quorum reached too slowly to leave any validity, is
// engine.ErrUnavailable; the caller's cancellation stays context.Canceled.
func leaseError(op string, err, refused error) error {
	var taken *redsync.ErrTaken
	var down *redsync.RedisError
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	case errors.As(err, &taken):
		return fmt.Errorf("%s: %w", op, refused)
	case errors.As(err, &down):
		return wrapRedisError(op, err)
	case errors.Is(err, redsync.ErrFailed), errors.Is(err, redsync.ErrExtendFailed):
		return fmt.Errorf("%s: %w: the lease servers answered too slowly", op, engine.ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", op, refused) // no quorum, and every server answered: expired or split
}

// leaseJSON is a lease's value in Redis. The whole value is what
// redsync's scripts compare, so it must encode the same way every time
// (encoding/json of a struct does).
type leaseJSON struct {
	Node  string `json:"node"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

func leaseValue(lease engine.Lease) (string, error) {
	b, err := json.Marshal(leaseJSON{Node: lease.Node, URL: lease.URL, Token: lease.Token})
	if err != nil {
		return "", fmt.Errorf("encode lease value: %w", err)
	}
	return string(b), nil
}

// parseLeaseValue reads a holder's node and URL; the token is not
// returned (it would let the reader renew or release the lease).
func parseLeaseValue(s string) (engine.Lease, error) {
	var v leaseJSON
	if err := json.Unmarshal([]byte(s), &v); err != nil || v.Node == "" || v.URL == "" || v.Token == "" {
		return engine.Lease{}, errors.New("the lease's value is not a flashstock lease")
	}
	return engine.Lease{Node: v.Node, URL: v.URL}, nil
}

func checkLeaseHolder(shard int, node, url string) error {
	if shard < 0 || shard >= engine.ShardsMax {
		return engine.Invalid("shard", fmt.Sprintf("must be between 0 and %d", engine.ShardsMax-1))
	}
	if err := checkNode(node); err != nil {
		return err
	}
	return checkURL(url)
}

func checkURL(url string) error {
	if url == "" || engine.CheckLine(url, leaseURLBytesMax) != "" {
		return engine.Invalid("url", fmt.Sprintf("must be 1 to %d bytes of printable text", leaseURLBytesMax))
	}
	return nil
}

func checkNode(node string) error {
	if node == "" || engine.CheckLine(node, leaseNodeBytesMax) != "" {
		return engine.Invalid("node", fmt.Sprintf("must be 1 to %d bytes of printable text", leaseNodeBytesMax))
	}
	return nil
}

func (l *Leases) shardKey(shard int) string { return l.prefix + "shard:" + strconv.Itoa(shard) }

func (l *Leases) nodeKey(node string) string { return l.prefix + "node:" + node }

// onEach runs f on every server at once, all bounded by the operation
// timeout, and returns each server's error in server order.
func (l *Leases) onEach(ctx context.Context, f func(ctx context.Context, i int, c *redis.Client) error) []error {
	ctx, cancel := context.WithTimeout(ctx, l.opTimeout)
	defer cancel()
	errs := make([]error, len(l.clients))
	var wg sync.WaitGroup
	for i, c := range l.clients {
		wg.Go(func() { errs[i] = f(ctx, i, c) })
	}
	wg.Wait()
	return errs
}

// quorumError is nil when a quorum of servers succeeded, and the servers'
// errors mapped by wrapRedisError otherwise.
func (l *Leases) quorumError(op string, errs []error) error {
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok >= l.quorum {
		return nil
	}
	return wrapRedisError(op, errors.Join(errs...))
}
