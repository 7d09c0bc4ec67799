package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Names of the environment variables through which throwaway servers are
// handed to tests. devenv never reads them; withservices and testenv.Main
// set them and package testenv reads them.
const (
	TestDatabaseURLEnv = "FLASHSTOCK_TEST_DATABASE_URL"
	TestRedisURLEnv    = "FLASHSTOCK_TEST_REDIS_URL"
)

// StartedService describes one server started by StartTestServices.
type StartedService struct {
	Name    string        // "postgres" or "redis"
	EnvName string        // TestDatabaseURLEnv or TestRedisURLEnv
	URL     string        // value for EnvName
	Took    time.Duration // time from the start request to readiness
}

// TestServices are the throwaway servers of one test run.
type TestServices struct {
	// Started lists the servers started, in start order.
	Started []StartedService

	pg *Postgres
	rd *Redis
}

// StartTestServices starts a throwaway PostgreSQL unless getenv returns a
// non-empty TestDatabaseURLEnv, and a throwaway Redis unless getenv returns
// a non-empty TestRedisURLEnv. getenv is usually os.Getenv. Server output
// is discarded (errors carry its tail); log receives progress lines such as
// apt-get's, if redis-server must be installed. On error nothing is left
// running.
func StartTestServices(ctx context.Context, getenv func(string) string, log io.Writer) (*TestServices, error) {
	s := &TestServices{}
	if getenv(TestDatabaseURLEnv) == "" {
		start := time.Now()
		pg, err := StartPostgres(ctx, PostgresConfig{})
		if err != nil {
			return nil, err
		}
		s.pg = pg
		s.Started = append(s.Started, StartedService{"postgres", TestDatabaseURLEnv, pg.URL(), time.Since(start)})
	}
	if getenv(TestRedisURLEnv) == "" {
		start := time.Now()
		rd, err := startTestRedis(ctx, log)
		if err != nil {
			return nil, errors.Join(err, s.Stop(context.Background()))
		}
		s.rd = rd
		s.Started = append(s.Started, StartedService{"redis", TestRedisURLEnv, rd.URL(), time.Since(start)})
	}
	return s, nil
}

// startTestRedis installs redis-server if needed, with its output to log,
// then starts a throwaway server whose own output is discarded.
func startTestRedis(ctx context.Context, log io.Writer) (*Redis, error) {
	if _, err := EnsureRedisServer(ctx, log); err != nil {
		return nil, err
	}
	return StartRedis(ctx, RedisConfig{})
}

// Env returns "NAME=URL" for every server started, for exec.Cmd.Env.
func (s *TestServices) Env() []string {
	env := make([]string, 0, len(s.Started))
	for _, st := range s.Started {
		env = append(env, st.EnvName+"="+st.URL)
	}
	return env
}

// Stop stops every server started and removes its data. It is safe to
// call more than once.
func (s *TestServices) Stop(ctx context.Context) error {
	var errs []error
	if s.rd != nil {
		errs = append(errs, s.rd.Stop(ctx))
	}
	if s.pg != nil {
		errs = append(errs, s.pg.Stop(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("devenv: stop test services: %w", err)
	}
	return nil
}
