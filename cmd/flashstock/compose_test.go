package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// composeFile is the docker-compose file, relative to the repository root.
const composeFile = "docker-compose.yml"

// composeServices are the services the full stack needs.
var composeServices = []string{"postgres", "redis", "flashstock", "prometheus", "grafana", "mailpit"}

// compose is the part of a compose file the checks read.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]any    `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// composeVariable matches ${NAME}, ${NAME:-default} and ${NAME-default}.
var composeVariable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

// composeDefaults replaces each variable of v with its default (empty
// without one), as compose does when the variable is unset.
func composeDefaults(v string) string {
	return composeVariable.ReplaceAllStringFunc(v, func(m string) string {
		return composeVariable.FindStringSubmatch(m)[2]
	})
}

func readCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	readYAML(t, composeFile, &c)
	return c
}

// TestComposeServices: the stack has its services, each built or pinned
// to an image, every service it depends on exists, and every named volume
// is declared.
func TestComposeServices(t *testing.T) {
	t.Parallel()
	c := readCompose(t)
	for _, name := range composeServices {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("%s: no service %s", composeFile, name)
		}
	}
	for name, s := range c.Services {
		if s.Build == nil && (s.Image == "" || !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest")) {
			t.Errorf("%s: service %s: image %q, want a pinned tag (or a build)", composeFile, name, s.Image)
		}
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s: service %s depends on the unknown service %s", composeFile, name, dep)
			}
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: service %s mounts the undeclared volume %s", composeFile, name, src)
				}
			}
		}
	}
	if c.Services["flashstock"].Build == nil {
		t.Errorf("%s: flashstock is not built from the Dockerfile", composeFile)
	}
}

// TestComposeFlashstockEnvironment: every FLASHSTOCK_* variable given to
// the flashstock service is a setting the binary accepts, and with
// compose's defaults the configuration validates.
func TestComposeFlashstockEnvironment(t *testing.T) {
	t.Parallel()
	env := readCompose(t).Services["flashstock"].Environment
	known := map[string]bool{}
	for _, s := range new(config).settings() {
		known[s.env()] = true
	}
	vars := map[string]string{}
	for k, v := range env {
		if !strings.HasPrefix(k, "FLASHSTOCK_") {
			t.Errorf("%s: flashstock: %s is not a FLASHSTOCK_ setting", composeFile, k)
			continue
		}
		if !known[k] {
			t.Errorf("%s: flashstock: %s is not a setting of the binary (see `flashstock serve --help`)", composeFile, k)
		}
		vars[k] = composeDefaults(v)
	}
	for _, k := range []string{"FLASHSTOCK_HTTP_ADDR", "FLASHSTOCK_DATABASE_URL", "FLASHSTOCK_REDIS_URL", "FLASHSTOCK_SMTP_URL"} {
		if vars[k] == "" {
			t.Errorf("%s: flashstock: %s is not set", composeFile, k)
		}
	}
	if !strings.HasSuffix(vars["FLASHSTOCK_HTTP_ADDR"], ":8080") || !strings.HasPrefix(vars["FLASHSTOCK_HTTP_ADDR"], "0.0.0.0:") {
		t.Errorf("%s: FLASHSTOCK_HTTP_ADDR = %q, want 0.0.0.0:8080 (reachable from the other containers, and the port Prometheus scrapes)",
			composeFile, vars["FLASHSTOCK_HTTP_ADDR"])
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	convert := bindConfig(fs, func(k string) string { return vars[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c, err := convert()
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		t.Errorf("%s: flashstock's environment with compose's defaults does not validate: %v", composeFile, err)
	}
}

// TestComposeMonitoringMounts: the files compose mounts into Prometheus and
// Grafana exist, alerts.yml lands next to prometheus.yml (whose rule_files
// path is relative), Grafana's dashboard provider reads where the
// dashboards are mounted, and Prometheus scrapes the flashstock service.
func TestComposeMonitoringMounts(t *testing.T) {
	t.Parallel()
	c := readCompose(t)
	mounts := map[string]string{} // container path → repository path
	for _, name := range []string{"prometheus", "grafana"} {
		for _, v := range c.Services[name].Volumes {
			parts := strings.Split(v, ":")
			if !strings.HasPrefix(parts[0], "./") {
				continue
			}
			if len(parts) < 2 {
				t.Errorf("%s: %s: volume %q has no target", composeFile, name, v)
				continue
			}
			if _, err := os.Stat(repoFile(parts[0])); err != nil {
				t.Errorf("%s: %s mounts %s, which is not in the repository: %v", composeFile, name, parts[0], err)
			}
			mounts[parts[1]] = strings.TrimPrefix(parts[0], "./")
		}
	}
	want := map[string]string{
		"/etc/prometheus/prometheus.yml": prometheusConfigFile,
		"/etc/prometheus/alerts.yml":     alertRulesFile,
		"/etc/grafana/provisioning":      "monitoring/grafana/provisioning",
	}
	for target, src := range want {
		if mounts[target] != src {
			t.Errorf("%s: %s is mounted from %q, want ./%s", composeFile, target, mounts[target], src)
		}
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, prometheusConfigFile, &prom)
	if !slices.Contains(prom.RuleFiles, "alerts.yml") {
		t.Errorf("%s: rule_files %q, want alerts.yml (mounted next to it)", prometheusConfigFile, prom.RuleFiles)
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	if !slices.Contains(targets, "flashstock:8080") {
		t.Errorf("%s: targets %q, want flashstock:8080 (the compose service)", prometheusConfigFile, targets)
	}

	var providers struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, grafanaProvidersFile, &providers)
	if len(providers.Providers) != 1 {
		t.Fatalf("%s: %d providers, want 1", grafanaProvidersFile, len(providers.Providers))
	}
	if path := providers.Providers[0].Options.Path; mounts[path] != grafanaDashboardDir {
		t.Errorf("%s: the provider reads %s, where compose mounts %q, not ./%s", grafanaProvidersFile, path, mounts[path], grafanaDashboardDir)
	}
}
