package bot

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// RedisCache adapts go-redis v9 to the SDK's cache.Cache (its own adapter is for v8), so
// the access token is shared by every instance. Prefix keeps keys apart (tests use a
// unique one and delete their keys).
type RedisCache struct {
	R      redis.UniversalClient
	Prefix string
}

var _ cache.ContextCache = (*RedisCache)(nil)

// Get returns the string stored, or nil on a miss or error (what the SDK expects).
func (c *RedisCache) Get(key string) any { return c.GetContext(context.Background(), key) }

// Set stores val (a string) for timeout; a timeout ≤ 0 stores nothing, because a cached
// token without expiry would outlive the real one.
func (c *RedisCache) Set(key string, val any, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

// IsExist reports whether key is stored.
func (c *RedisCache) IsExist(key string) bool { return c.IsExistContext(context.Background(), key) }

// Delete removes key.
func (c *RedisCache) Delete(key string) error { return c.DeleteContext(context.Background(), key) }

// GetContext implements cache.ContextCache.
func (c *RedisCache) GetContext(ctx context.Context, key string) any {
	v, err := c.R.Get(ctx, c.Prefix+key).Result()
	if err != nil {
		return nil
	}
	return v
}

// SetContext implements cache.ContextCache.
func (c *RedisCache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	if timeout <= 0 {
		return errors.New("redis cache: refusing a value without positive expiry")
	}
	return c.R.Set(ctx, c.Prefix+key, val, timeout).Err()
}

// IsExistContext implements cache.ContextCache.
func (c *RedisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.R.Exists(ctx, c.Prefix+key).Result()
	return err == nil && n > 0
}

// DeleteContext implements cache.ContextCache.
func (c *RedisCache) DeleteContext(ctx context.Context, key string) error {
	return c.R.Del(ctx, c.Prefix+key).Err()
}
