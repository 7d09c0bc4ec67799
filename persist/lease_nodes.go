package persist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/flashstock/flashstock/engine"
)

// Node announcements (see lease.go for the keys): a live node repeats its
// announcement every TTL/3; one that stops or dies drops out after the TTL.

// globEscaper escapes the characters SCAN's MATCH pattern gives a meaning.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

// errTooManyNodes is returned when more than liveNodesMax nodes announced
// themselves.
var errTooManyNodes = fmt.Errorf("more than %d nodes announced themselves", liveNodesMax)

// Announce says node is alive at url, until the lease TTL passes: call it
// every TTL/3. It needs a quorum of servers, else engine.ErrUnavailable.
func (l *Leases) Announce(ctx context.Context, node, url string) error {
	op := "announce node"
	if err := errors.Join(checkNode(node), checkURL(url)); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	errs := l.onEach(ctx, func(ctx context.Context, _ int, c *redis.Client) error {
		return c.Set(ctx, l.nodeKey(node), url, l.ttl).Err()
	})
	return l.quorumError(op, errs)
}

// Withdraw removes node's announcement (on a graceful stop). It needs a
// quorum of servers, else engine.ErrUnavailable (the announcement then
// expires by itself).
func (l *Leases) Withdraw(ctx context.Context, node string) error {
	op := "withdraw node"
	if err := checkNode(node); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	errs := l.onEach(ctx, func(ctx context.Context, _ int, c *redis.Client) error {
		return c.Del(ctx, l.nodeKey(node)).Err()
	})
	return l.quorumError(op, errs)
}

// LiveNodes returns every announced node whose announcement has not
// expired, sorted by id: those of any server that answered (a node
// announces itself on all of them), the first server's URL winning if two
// differ. It needs a quorum of servers, else engine.ErrUnavailable.
func (l *Leases) LiveNodes(ctx context.Context) ([]engine.LiveNode, error) {
	const op = "list live nodes"
	found := make([]map[string]string, len(l.clients))
	errs := l.onEach(ctx, func(ctx context.Context, i int, c *redis.Client) error {
		var err error
		found[i], err = l.scanNodes(ctx, c)
		return err
	})
	for _, err := range errs {
		if errors.Is(err, errTooManyNodes) {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	if err := l.quorumError(op, errs); err != nil {
		return nil, err
	}
	urls := make(map[string]string)
	for _, m := range found {
		for id, url := range m {
			if _, ok := urls[id]; !ok {
				urls[id] = url
			}
		}
	}
	if len(urls) > liveNodesMax {
		return nil, fmt.Errorf("%s: %w", op, errTooManyNodes)
	}
	nodes := make([]engine.LiveNode, 0, len(urls))
	for id, url := range urls {
		nodes = append(nodes, engine.LiveNode{ID: id, URL: url})
	}
	slices.SortFunc(nodes, func(a, b engine.LiveNode) int { return strings.Compare(a.ID, b.ID) })
	return nodes, nil
}

// scanNodes reads one server's announcements: SCAN over the node keys,
// then their URLs (a key that expired in between is skipped).
func (l *Leases) scanNodes(ctx context.Context, c *redis.Client) (map[string]string, error) {
	pattern := globEscaper.Replace(l.nodeKey("")) + "*"
	urls := make(map[string]string)
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, nodeScanCount).Result()
		if err != nil {
			return nil, err
		}
		if len(keys) > 0 {
			vals, err := c.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, err
			}
			for i, v := range vals {
				if url, ok := v.(string); ok {
					urls[strings.TrimPrefix(keys[i], l.nodeKey(""))] = url
				}
			}
		}
		if len(urls) > liveNodesMax {
			return nil, errTooManyNodes
		}
		if next == 0 {
			return urls, nil
		}
		cursor = next
	}
}
