package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/flashstock/flashstock/actors"
)

// loadConfig converts and validates the settings the way serve does, from
// vars alone.
func loadConfig(t *testing.T, vars map[string]string) (config, error) {
	t.Helper()
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
	return c, err
}

// The commit pipeline's settings and the cap on live actors reach the
// actors' configuration; left unset, they are the actors' defaults.
func TestPipelineSettingsReachActors(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(t, map[string]string{"FLASHSTOCK_ACTORS_MAX": "1234", "FLASHSTOCK_COMMITTERS": "3",
		"FLASHSTOCK_COMMIT_QUEUE_OPS_MAX": "5000", "FLASHSTOCK_BATCH_PRODUCTS_MAX": "77"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.actorsConfig()
	if got.ActorsMax != 1234 || got.Committers != 3 || got.CommitQueueOpsMax != 5000 || got.BatchProductsMax != 77 {
		t.Errorf("actors config %+v, want ActorsMax 1234, Committers 3, CommitQueueOpsMax 5000, BatchProductsMax 77", got)
	}
	c, err = loadConfig(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = c.actorsConfig()
	if got.ActorsMax != actors.ActorsMaxDefault || got.Committers != actors.CommittersDefault ||
		got.CommitQueueOpsMax != actors.CommitQueueOpsMaxDefault || got.BatchProductsMax != actors.BatchProductsMaxDefault {
		t.Errorf("actors config by default %+v, want the actors' defaults", got)
	}
}

func TestPipelineSettingsValidated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"FLASHSTOCK_ACTORS_MAX": "0"}, "FLASHSTOCK_ACTORS_MAX"},
		{map[string]string{"FLASHSTOCK_BATCH_PRODUCTS_MAX": "0"}, "FLASHSTOCK_BATCH_PRODUCTS_MAX"},
		{map[string]string{"FLASHSTOCK_COMMITTERS": "0"}, "FLASHSTOCK_COMMITTERS"},
		{map[string]string{"FLASHSTOCK_COMMITTERS": "65", "FLASHSTOCK_DB_CONNS_MAX": "100"}, "committers: must be between 1 and 64"},
		{map[string]string{"FLASHSTOCK_COMMITTERS": "16", "FLASHSTOCK_DB_CONNS_MAX": "16"}, "FLASHSTOCK_COMMITTERS"},
		{map[string]string{"FLASHSTOCK_COMMIT_QUEUE_OPS_MAX": "10"}, "commit queue"},
		{map[string]string{"FLASHSTOCK_ACTORS_MAX": "many"}, "FLASHSTOCK_ACTORS_MAX"},
	} {
		if _, err := loadConfig(t, tc.vars); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.vars, err, tc.want)
		}
	}
}
