// Package engine is flashstock's domain: identifiers, money, quantities,
// users, products, orders and their state machine, limits, and the sentinel
// errors every other package speaks.
//
// engine imports only the standard library. It performs no I/O and reads no
// clock: callers pass the current time in. Every other flashstock package may
// import engine; engine must never import any of them.
package engine
