package main

import (
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildBinary compiles flashstock into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flashstock")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serverProcess is `flashstock serve` running as a child process.
type serverProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// startProcess runs the binary with vars and waits until /healthz answers.
func startProcess(t *testing.T, bin, base string, vars map[string]string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &serverProcess{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("server exited before it was healthy:\n%s", p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy within 60s:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// crashServer is a crash test's server: the binary, its environment (no
// rate limits; held units returned soon after a restart) on a free address,
// and the running process.
type crashServer struct {
	bin  string
	vars map[string]string
	base string
	proc *serverProcess
}

// startCrashServer builds the binary and starts it with the crash tests'
// environment plus the extra variables.
func startCrashServer(t *testing.T, extra ...string) *crashServer {
	t.Helper()
	addr := freeAddr(t)
	srv := &crashServer{bin: buildBinary(t), base: "http://" + addr}
	srv.vars = testEnv(t, append([]string{"FLASHSTOCK_HTTP_ADDR", addr, "FLASHSTOCK_JWT_SECRET", strings.Repeat("s", 32),
		"FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off",
		"FLASHSTOCK_HOLD_TIMEOUT", "1s", "FLASHSTOCK_REPAIR_INTERVAL", "200ms", "FLASHSTOCK_LOG_LEVEL", "warn"}, extra...)...)
	srv.proc = startProcess(t, srv.bin, srv.base, srv.vars)
	return srv
}

// TestKill9DuringSellOut kills the server with SIGKILL while buyers place
// single- and multi-product orders, restarts it, and audits the database
// (auditRestart): every order acknowledged with a 201 is stored whole and
// once, for every product stock + sold + held = initial, nothing is left
// held once the repair loop has run, and the restarted server sells out.
func TestKill9DuringSellOut(t *testing.T) {
	t.Parallel()
	srv := startCrashServer(t)
	admin := adminToken(t, srv.vars, srv.base)
	hot := newProduct(t, srv.base, admin, "HOT", 1000, 150)
	a, b := newProduct(t, srv.base, admin, "A", 300, 400), newProduct(t, srv.base, admin, "B", 200, 400)
	initial := map[string]int64{hot: 150, a: 400, b: 400}
	buyers := newBuyers(t, srv.base, 8)

	next := func(rng *rand.Rand) []orderLine {
		if rng.IntN(3) == 0 {
			return []orderLine{{a, 1}, {b, 2}}
		}
		return []orderLine{{hot, 1}}
	}
	sale := sellUntilKilled(t, srv, buyers, 24, next, func(s *saleLog) bool { return s.acks.Load() >= 120 })
	auditRestart(t, srv, sale, buyers, initial)
}
