// Package usecase holds flashstock's use cases: the order coordinator
// (placing single- and multi-product orders, reading them, moving them
// along the state machine with their stock returned, and the repair loop
// that finishes interrupted releases), payment webhook events, catalogue
// reads and writes, and the scheduled tasks' work (expiring unpaid orders,
// alerts, reports, retention).
//
// It decides what happens and in what order; it never touches stock
// itself. Every stock change goes through the Stock port, keyed by product,
// which actors.Inventory implements with the node's SKU actors (and the
// cluster's router will implement by routing to the product's owner).
// Storage comes in through the small store ports declared in ports.go, in
// engine types. cmd wires the adapters to them.
//
// usecase imports engine only (of flashstock; zerolog for its logs): never
// actors, persist, httpd, bench or cmd. The actors' concrete types never
// cross into it; they satisfy its ports structurally.
package usecase
