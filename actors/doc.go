// Package actors holds flashstock's hollywood actors: one SKU actor per
// product (the only decider of its stock), the node's commit pipeline that
// writes what they decide in group commits, the product loader, and the
// inventory client over them (routing through shards, passivation, the cap
// on live actors, backpressure, reads from memory); plus the mailer, the
// scheduler with its task runner, and the dead-letter recorder.
//
// Inventory is the local implementation of usecase.Stock: the use cases
// (orders, payments, the catalogue, the tasks' work) live in package
// usecase and reach the actors only through that port, keyed by product;
// no hollywood type leaves this package.
//
// actors imports engine only (of flashstock); never usecase, persist,
// httpd, bench or cmd (storage reaches it through interfaces stated in
// engine types, wired by cmd).
package actors
