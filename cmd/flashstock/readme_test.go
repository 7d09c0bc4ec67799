package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// readmeWalkthrough returns the shell blocks a new user pastes, in order:
// those of "Using the API" and of "The payment flow, end to end".
func readmeWalkthrough(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(repoFile("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var script []string
	for _, sec := range [][2]string{{"## Using the API", "\n## "}, {"### The payment flow, end to end", "\n### "}} {
		start := strings.Index(readme, sec[0])
		if start < 0 {
			t.Fatalf("README.md has no section %q", sec[0])
		}
		part := readme[start+len(sec[0]):]
		if end := strings.Index(part, sec[1]); end >= 0 {
			part = part[:end]
		}
		for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(part, -1) {
			script = append(script, m[1])
		}
	}
	if len(script) < 3 {
		t.Fatalf("README.md: %d shell blocks in the walkthrough, want at least 3", len(script))
	}
	return strings.Join(script, "\n")
}

// TestREADMEWalkthroughRunsAsPasted runs the README's curl walkthrough, as a
// new user pastes it into one shell, against a real server and the real
// binary: the only edits are the server's address and the binary's path.
// Every id it uses must come from an earlier answer, and every step must
// get the answer the README promises (the stale webhook's 401 is the one
// problem expected).
func TestREADMEWalkthroughRunsAsPasted(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the README walkthrough needs curl: %v", err)
	}
	script := readmeWalkthrough(t)
	for _, placeholder := range []string{"<product-id>", "<order-id>", "<id>"} {
		if strings.Contains(script, placeholder) {
			t.Errorf("the walkthrough has a placeholder %s: it cannot run as pasted", placeholder)
		}
	}
	bin := buildBinary(t)
	vars := testEnv(t)
	base, _ := startServer(t, vars)
	admin := adminToken(t, vars, base)
	newProduct(t, base, admin, "DEMO-1", 1250, 100) // make run seeds a demo catalogue

	const api = "API=http://127.0.0.1:8080\n"
	if !strings.Contains(script, api) {
		t.Fatalf("the walkthrough does not start with %q", api)
	}
	script = strings.Replace(script, api, "API="+base+"\n", 1)
	script = regexp.MustCompile(`(^|[\s(])(\./)?bin/flashstock\b`).ReplaceAllString(script, "${1}"+bin)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err == nil {
		t.Errorf("the walkthrough ends with a refused stale webhook, which exits 1; it exited 0")
	}
	for _, want := range []string{
		`"username":"alice"`, `"is_admin":false`, `"sku":"HOT-1"`, `"price":1799`, `"stock":110`,
		"Idempotent-Replayed: true", `"status":"cancelled"`,
		`"outcome":"applied"`, `"outcome":"duplicate"`, `"status":"processing","payment_status":"paid"`,
		`"outcome":"already_paid"`, `HTTP 401`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the walkthrough's output lacks %s", want)
		}
	}
	if n := strings.Count(text, `"code":"`); n != 1 {
		t.Errorf("the walkthrough got %d problems, want 1 (the stale webhook's 401)", n)
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}
