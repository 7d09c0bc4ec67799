package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// TestKill9DuringSellOut kills the server with SIGKILL while buyers place
// single- and multi-product orders, restarts it, and checks that every order
// acknowledged with a 201 is stored and that, for every product, stock +
// sold + held = initial — and, once the repair loop has run, nothing is
// left held by the orders the crash interrupted.
func TestKill9DuringSellOut(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	addr := freeAddr(t)
	base := "http://" + addr
	vars := testEnv(t, "FLASHSTOCK_HTTP_ADDR", addr, "FLASHSTOCK_JWT_SECRET", strings.Repeat("s", 32),
		"FLASHSTOCK_RATE_ORDERS", "off", "FLASHSTOCK_RATE_AUTH", "off",
		"FLASHSTOCK_HOLD_TIMEOUT", "1s", "FLASHSTOCK_REPAIR_INTERVAL", "200ms", "FLASHSTOCK_LOG_LEVEL", "warn")
	proc := startProcess(t, bin, base, vars)
	admin := adminToken(t, vars, base)
	initial := map[string]int{}
	hot := newProduct(t, base, admin, "HOT", 1000, 150)
	a, b := newProduct(t, base, admin, "A", 300, 400), newProduct(t, base, admin, "B", 200, 400)
	initial[hot], initial[a], initial[b] = 150, 400, 400
	var tokens []string
	for i := range 8 {
		tokens = append(tokens, register(t, base, fmt.Sprintf("buyer%d", i)))
	}

	var mu sync.Mutex
	var acked []string // ids of the orders answered 201
	var ackCount atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for g := range 24 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := orderBody(hot, 1)
				if (g+i)%3 == 0 {
					body = orderBody(a, 1, b, 2)
				}
				if id, ok := postOrder(client, base, tokens[g%len(tokens)], body); ok {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
					ackCount.Add(1)
				}
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for ackCount.Load() < 120 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.done
	close(stop)
	wg.Wait()
	if len(acked) < 120 {
		t.Fatalf("only %d orders acknowledged before the kill:\n%s", len(acked), proc.logs.String())
	}

	restarted := startProcess(t, bin, base, vars)
	conn, err := pgx.Connect(t.Context(), vars["FLASHSTOCK_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, id := range acked {
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM orders WHERE id = $1", id).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged order %s not stored (%d, %v)", id, n, err)
		}
	}
	waitHeld := time.Now().Add(30 * time.Second)
	for {
		var held int64
		if err := conn.QueryRow(t.Context(), "SELECT coalesce(sum(quantity), 0) FROM stock_holds").Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held == 0 {
			break
		}
		if time.Now().After(waitHeld) {
			t.Fatalf("%d units still held 30s after the restart:\n%s", held, restarted.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id, init := range initial {
		var stock, sold int
		err := conn.QueryRow(t.Context(), `SELECT (SELECT stock FROM products WHERE id = $1),
  (SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
   WHERE i.product_id = $1 AND o.status NOT IN ('cancelled', 'failed'))`, id).Scan(&stock, &sold)
		if err != nil {
			t.Fatal(err)
		}
		if stock+sold != init || stock < 0 {
			t.Errorf("product %s: stock %d + sold %d != initial %d", id, stock, sold, init)
		}
	}
	// The restarted server keeps selling.
	if _, ok := postOrder(client, base, tokens[0], orderBody(a, 1)); !ok {
		t.Errorf("ordering after the restart failed:\n%s", restarted.logs.String())
	}
	_ = restarted.cmd.Process.Signal(syscall.SIGTERM)
	<-restarted.done
	t.Logf("%d orders acknowledged before SIGKILL", len(acked))
}

// postOrder places one order and returns its id if the answer was 201.
func postOrder(client *http.Client, base, token string, body map[string]any) (string, bool) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+"/orders/", bytes.NewReader(raw))
	if err != nil {
		return "", false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "JWT "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != 201 || json.NewDecoder(resp.Body).Decode(&out) != nil || out.ID == "" {
		return "", false
	}
	return out.ID, true
}
