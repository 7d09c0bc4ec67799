// Command flashstock is the one binary: configuration, wiring, signals and
// graceful shutdown, and the sub-commands serve, migrate, user create and
// version. It is the only package that imports every other flashstock
// package; nothing imports it.
package main
