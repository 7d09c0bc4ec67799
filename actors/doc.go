// Package actors holds flashstock's hollywood actors: one SKU actor per
// product (the only writer of its stock, committing orders to PostgreSQL in
// group commits), the order coordinator, mailer, scheduler and dead-letter
// actors, supervision, routing through shards, passivation and
// backpressure. It exposes a typed client that httpd calls through its own
// small interfaces.
//
// actors imports engine only; never persist, httpd, bench or cmd (storage
// reaches it through interfaces stated in engine types, wired by cmd).
//
// The inventory core issue fills this package in.
package actors
