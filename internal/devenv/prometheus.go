package devenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// prometheusAnswerBytesMax bounds what is read of one answer of the
// Prometheus HTTP API.
const prometheusAnswerBytesMax = 1 << 20

// ErrPrometheusMissing reports that prometheus or promtool is not
// installed and cannot be installed by us.
var ErrPrometheusMissing = errors.New("prometheus is not installed")

// prometheusPackage is Debian's package of the Prometheus server; it
// provides promtool too.
var prometheusPackage = debianPackage{name: "prometheus", programs: []string{"prometheus", "promtool"},
	missing: ErrPrometheusMissing,
	hint:    "install it with `sudo apt-get install -y --no-install-recommends prometheus` (it provides prometheus and promtool)"}

// PrometheusPrograms are the paths of the programs of the Prometheus package.
type PrometheusPrograms struct {
	Server   string // prometheus
	Promtool string // promtool: checks configurations and rules
}

// EnsurePrometheus returns the paths of prometheus and promtool. If one is
// missing and we are root, it installs the Debian package prometheus with
// apt-get, writing a progress line and apt-get's output to log (nil =
// discard). If one is missing and we are not root, the error wraps
// ErrPrometheusMissing and says what to install.
func EnsurePrometheus(ctx context.Context, log io.Writer) (PrometheusPrograms, error) {
	paths, err := ensurePackage(ctx, log, prometheusPackage)
	if err != nil {
		return PrometheusPrograms{}, err
	}
	return PrometheusPrograms{Server: paths[0], Promtool: paths[1]}, nil
}

// PrometheusConfig says how to run a Prometheus server.
type PrometheusConfig struct {
	// ConfigFile is the configuration file to load (required). Relative
	// paths in it, such as rule_files, are relative to its directory.
	ConfigFile string
	// Port is the TCP port of the web UI and API on 127.0.0.1; 0 picks a
	// free one.
	Port int
	// Log receives the server's output and progress lines (including
	// apt-get's, should prometheus need installing); nil discards them.
	Log io.Writer
}

// Prometheus is a throwaway Prometheus server started by StartPrometheus:
// its time series live in a temporary directory that Stop removes. It
// runs until Stop; its methods are safe for concurrent use.
type Prometheus struct {
	url     string // http://127.0.0.1:port
	proc    *process
	dataDir string // the TSDB; removed by Stop

	mu      sync.Mutex // guards stopped and stopErr
	stopped bool
	stopErr error
}

// URL returns the base URL of the web UI and HTTP API, for example
// http://127.0.0.1:9091.
func (p *Prometheus) URL() string { return p.url }

// StartPrometheus makes sure prometheus is installed (see
// EnsurePrometheus), starts it as a child process with a temporary TSDB
// and waits until /-/ready answers 200. ctx bounds only the start.
func StartPrometheus(ctx context.Context, cfg PrometheusConfig) (*Prometheus, error) {
	if cfg.ConfigFile == "" {
		return nil, errors.New("devenv: PrometheusConfig.ConfigFile is required")
	}
	configFile, err := filepath.Abs(cfg.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("devenv: %w", err)
	}
	log := newLogSink(cfg.Log)
	progs, err := EnsurePrometheus(ctx, log)
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "flashstock-prometheus-")
	if err != nil {
		return nil, fmt.Errorf("devenv: %w", err)
	}
	for attempt := 1; ; attempt++ {
		port := cfg.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				break
			}
		}
		var p *Prometheus
		if p, err = runPrometheus(ctx, progs.Server, configFile, dataDir, port, log); err == nil {
			return p, nil
		}
		if cfg.Port != 0 || attempt == portAttemptsMax || !errors.Is(err, errPortTaken) {
			break
		}
		fmt.Fprintf(log, "devenv: prometheus port %d was taken; retrying on another\n", port)
	}
	return nil, errors.Join(err, os.RemoveAll(dataDir))
}

// runPrometheus starts the server on port and waits for it; on error the
// server is stopped again.
func runPrometheus(ctx context.Context, bin, configFile, dataDir string, port int, log *logSink) (*Prometheus, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--config.file="+configFile, "--storage.tsdb.path="+dataDir,
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir = dataDir
	log.ResetTail()
	fmt.Fprintf(log, "devenv: starting prometheus on %s, config %s\n", addr, configFile)
	proc, err := startProcess("prometheus", cmd, log, nil, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	p := &Prometheus{url: "http://" + addr, proc: proc, dataDir: dataDir}
	if err := waitReady(ctx, proc, log, p.ready); err != nil {
		return nil, errors.Join(err, proc.stop(context.Background(), syscall.SIGTERM))
	}
	return p, nil
}

// ready succeeds once Prometheus has loaded its configuration and TSDB.
func (p *Prometheus) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/-/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, prometheusAnswerBytesMax))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready answered %s", resp.Status)
	}
	return nil
}

// Stop shuts the server down and removes its TSDB. It kills the server's
// process group if it has not exited within 30 s or when ctx is done.
// Calling Stop again returns the first call's result.
func (p *Prometheus) Stop(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		p.stopErr = errors.Join(p.proc.stop(ctx, syscall.SIGTERM), os.RemoveAll(p.dataDir))
	}
	return p.stopErr
}

// Query evaluates the PromQL expression expr at the current time through
// the HTTP API and returns the value of its single sample (an instant
// vector of one sample, or a scalar). ok is false when the vector is
// empty, which is how Prometheus says "no data yet"; a vector of more than
// one sample is an error.
func (p *Prometheus) Query(ctx context.Context, expr string) (value float64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return 0, false, fmt.Errorf("devenv: query %q: %w", expr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("devenv: query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	var answer queryAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, prometheusAnswerBytesMax)).Decode(&answer); err != nil {
		return 0, false, fmt.Errorf("devenv: query %q: %s: %w", expr, resp.Status, err)
	}
	if answer.Status != "success" {
		return 0, false, fmt.Errorf("devenv: query %q: %s: %s: %s", expr, resp.Status, answer.ErrorType, answer.Error)
	}
	return answer.Data.value(expr)
}

// queryAnswer is the envelope of an /api/v1/query answer.
type queryAnswer struct {
	Status    string    `json:"status"`
	ErrorType string    `json:"errorType"`
	Error     string    `json:"error"`
	Data      queryData `json:"data"`
}

// queryData is an instant query's result: for a vector, a list of
// {"metric": {...}, "value": [time, "value"]}; for a scalar, [time, "value"].
type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

func (d queryData) value(expr string) (float64, bool, error) {
	var sample [2]any
	switch d.ResultType {
	case "scalar":
		if err := json.Unmarshal(d.Result, &sample); err != nil {
			return 0, false, fmt.Errorf("devenv: query %q: scalar: %w", expr, err)
		}
	case "vector":
		var vector []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &vector); err != nil {
			return 0, false, fmt.Errorf("devenv: query %q: vector: %w", expr, err)
		}
		if len(vector) == 0 {
			return 0, false, nil
		}
		if len(vector) > 1 {
			return 0, false, fmt.Errorf("devenv: query %q: %d samples, want one (aggregate it)", expr, len(vector))
		}
		sample = vector[0].Value
	default:
		return 0, false, fmt.Errorf("devenv: query %q: result type %q, want vector or scalar", expr, d.ResultType)
	}
	s, _ := sample[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("devenv: query %q: value %v: %w", expr, sample[1], err)
	}
	return v, true, nil
}
