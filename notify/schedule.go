package notify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Schedule is the Redis side of reminders: a sorted set of reminder ids scored by their due
// moment (Unix milliseconds), and an "in flight" sorted set of claimed ids scored by the end of
// their lease. Claiming moves ids from the first to the second in one Lua script, so two
// workers never claim the same id at once; an id whose worker died comes back when its lease
// ends. Postgres stays the truth: an id claimed twice is still sent once (see Worker.fire).
type Schedule struct {
	R      redis.UniversalClient
	Prefix string // e.g. "fangpin:reminders:"; tests use one of their own
}

func (s Schedule) key(name string) string { return s.Prefix + name }

// Keys lists the Redis keys the schedule uses (for tests that empty them).
func (s Schedule) Keys() []string {
	return []string{s.key("schedule"), s.key("inflight"), s.key("built")}
}

// claimScript takes ids whose lease ran out first, then due ids, up to the limit, and leases
// them all until ARGV[2].
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local n = tonumber(ARGV[3]) - #ids
if n > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, n)
  if #due > 0 then
    redis.call('ZREM', KEYS[1], unpack(due))
    for _, id in ipairs(due) do table.insert(ids, id) end
  end
end
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[2], ARGV[2], id)
end
return ids
`)

// Entry is one scheduled reminder.
type Entry struct {
	ID    int64
	DueAt time.Time
}

// Add schedules entries; adding an id again only moves it.
func (s Schedule) Add(ctx context.Context, es ...Entry) error {
	const chunk = 1000
	for len(es) > 0 {
		n := min(chunk, len(es))
		zs := make([]redis.Z, n)
		for i, e := range es[:n] {
			zs[i] = redis.Z{Score: float64(e.DueAt.UnixMilli()), Member: strconv.FormatInt(e.ID, 10)}
		}
		if err := s.R.ZAdd(ctx, s.key("schedule"), zs...).Err(); err != nil {
			return fmt.Errorf("schedule %d reminders in redis: %w", n, err)
		}
		es = es[n:]
	}
	return nil
}

// Claim leases up to limit ids that are due at now.
func (s Schedule) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]int64, error) {
	res, err := claimScript.Run(ctx, s.R, []string{s.key("schedule"), s.key("inflight")},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim due reminders: %w", err)
	}
	ids := make([]int64, 0, len(res))
	for _, r := range res {
		id, err := strconv.ParseInt(r, 10, 64)
		if err != nil {
			continue // not ours; drop it
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Done forgets claimed ids once Postgres has recorded what became of them.
func (s Schedule) Done(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	ms := make([]any, len(ids))
	for i, id := range ids {
		ms[i] = strconv.FormatInt(id, 10)
	}
	return s.R.ZRem(ctx, s.key("inflight"), ms...).Err()
}

// Built reports whether the schedule was rebuilt since Redis last lost its data.
func (s Schedule) Built(ctx context.Context) (bool, error) {
	n, err := s.R.Exists(ctx, s.key("built")).Result()
	return n > 0, err
}

func (s Schedule) markBuilt(ctx context.Context) error {
	return s.R.Set(ctx, s.key("built"), time.Now().UTC().Format(time.RFC3339), 0).Err()
}

// Len counts scheduled (not in flight) ids.
func (s Schedule) Len(ctx context.Context) (int64, error) {
	return s.R.ZCard(ctx, s.key("schedule")).Result()
}
