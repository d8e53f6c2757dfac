package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// logRedisTo makes go-redis write its own lines ("redis: connection pool: failed to dial …")
// as JSON lines of log, like every other line of serve and worker (docs/operations.md), not
// as plain text in between them.
func logRedisTo(log *slog.Logger) { redis.SetLogger(redisLog{log}) }

type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
