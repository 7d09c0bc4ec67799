package httpd

import "github.com/flashstock/flashstock/engine"

// Wire form of GET /admin/actors; the lists are never null.

type actorStatsJSON struct {
	Kinds       []actorKindJSON `json:"kinds"`
	HottestSKUs []skuHeatJSON   `json:"hottest_skus"`
}

type actorKindJSON struct {
	Kind     string `json:"kind"`
	Live     int    `json:"live"`
	Inflight int64  `json:"inflight"`
	Restarts uint64 `json:"restarts"`
}

type skuHeatJSON struct {
	ProductID engine.ID `json:"product_id"`
	Inflight  int64     `json:"inflight"`
	Requests  uint64    `json:"requests"`
}

func newActorStatsJSON(st engine.ActorStats) actorStatsJSON {
	j := actorStatsJSON{Kinds: make([]actorKindJSON, 0, len(st.Kinds)),
		HottestSKUs: make([]skuHeatJSON, 0, len(st.HottestSKUs))}
	for _, k := range st.Kinds {
		j.Kinds = append(j.Kinds, actorKindJSON{Kind: k.Kind, Live: k.Live, Inflight: k.Inflight, Restarts: k.Restarts})
	}
	for _, h := range st.HottestSKUs {
		j.HottestSKUs = append(j.HottestSKUs, skuHeatJSON{ProductID: h.ProductID, Inflight: h.Inflight, Requests: h.Requests})
	}
	return j
}
