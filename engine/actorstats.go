package engine

// ActorStats is a snapshot of the running actors, for operators
// (GET /admin/actors).
type ActorStats struct {
	Kinds       []ActorKindStats // one per kind: sku, mailer, scheduler, deadletters
	HottestSKUs []SKUHeat        // live SKU actors with the most requests, most first
}

// ActorKindStats describes the live actors of one kind.
type ActorKindStats struct {
	Kind     string
	Live     int    // actors running now
	Inflight int64  // requests admitted and not yet answered
	Restarts uint64 // crashes recovered (state reloaded) since the process started
}

// SKUHeat is one live SKU actor's load.
type SKUHeat struct {
	ProductID ID
	Inflight  int64  // requests waiting on it now
	Requests  uint64 // requests admitted since it was spawned
}
