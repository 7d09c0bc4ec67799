-- Shard ownership and fencing epochs (issue 14; DESIGN.md "Cluster").
--
-- One row per shard, made by the first node that starts (persist.EnsureShards,
-- which also refuses a node configured with another number of shards). A
-- node takes a shard by bumping its epoch (the first owner writes under
-- epoch 1) and only then loads the shard's products; a graceful release
-- clears the owner and keeps the epoch.
CREATE TABLE shard_owners (
    shard_id   integer     PRIMARY KEY CHECK (shard_id >= 0 AND shard_id < 65536),
    epoch      bigint      NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    owner_node text,
    owner_url  text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((owner_node IS NULL) = (owner_url IS NULL))
);

-- flashstock_fence is the first statement of every stock commit: it share-
-- locks the rows of the commit's shards (in shard order, the order an
-- acquisition locks them in: no deadlock), so an epoch bump waits for the
-- commits in flight and a later commit sees the bump; and it fails the
-- transaction, naming the stale shards in the error's detail, if any epoch
-- is not the one the committing node holds.
CREATE FUNCTION flashstock_fence(shards integer[], epochs bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stale integer[];
BEGIN
    SELECT array_agg(x.shard_id ORDER BY x.shard_id) INTO stale
      FROM unnest(shards, epochs) AS x(shard_id, epoch)
      LEFT JOIN (SELECT shard_id, epoch FROM shard_owners WHERE shard_id = ANY (shards)
                 ORDER BY shard_id FOR SHARE) s ON s.shard_id = x.shard_id
     WHERE s.epoch IS DISTINCT FROM x.epoch;
    IF stale IS NOT NULL THEN
        RAISE EXCEPTION 'stale shard epochs' USING ERRCODE = 'FS001', DETAIL = array_to_string(stale, ',');
    END IF;
END
$$;
