package bot

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Window is a rate: at most N in any Per.
type Window struct {
	N   int
	Per time.Duration
}

// Limits are WeCom's sending limits [90454]; over them WeCom drops messages silently, so
// the worker paces itself below them.
type Limits struct {
	PerUser  []Window // per app and member: 30 a minute, 1000 an hour
	PerChat  []Window // per appchat (unverified: paced like a member)
	Company  Window   // person-deliveries per minute for the whole corp
	PerRobot Window   // per group robot (webhook key)
	// Slack is added to every window so that network delay cannot push one message into
	// a window WeCom counts differently.
	Slack time.Duration
}

// DefaultLimits are WeCom's documented limits.
func DefaultLimits() Limits {
	return Limits{
		PerUser:  []Window{{30, time.Minute}, {1000, time.Hour}},
		PerChat:  []Window{{30, time.Minute}, {1000, time.Hour}},
		Company:  Window{20000, time.Minute},
		PerRobot: Window{20, time.Minute},
		Slack:    2 * time.Second,
	}
}

// Pacer keeps sliding windows of deliveries in Redis, shared by every instance.
type Pacer struct {
	R      redis.UniversalClient
	Prefix string
	Limits Limits
}

// takeScript checks every window and, only if all have room, records the delivery in all.
// It answers 0 or the milliseconds to wait. Time comes from Redis so instances agree.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, k in ipairs(KEYS) do
  local lim = tonumber(ARGV[3*i-1]); local win = tonumber(ARGV[3*i]); local n = tonumber(ARGV[3*i+1])
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - win)
  local c = redis.call('ZCARD', k)
  if c + n > lim then
    local idx = c + n - lim - 1
    local e = redis.call('ZRANGE', k, idx, idx, 'WITHSCORES')
    local w = win
    if e[2] then w = tonumber(e[2]) + win - now + 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
local id = ARGV[1]
for i, k in ipairs(KEYS) do
  local win = tonumber(ARGV[3*i]); local n = tonumber(ARGV[3*i+1])
  for j = 1, n do redis.call('ZADD', k, now, id .. ':' .. j) end
  redis.call('PEXPIRE', k, win)
end
return 0
`)

// pace is one window to check for a delivery.
type pace struct {
	key string
	w   Window
	n   int
}

// take records one delivery in every window, or reports how long to wait when one is full.
func (p *Pacer) take(ctx context.Context, id string, paces []pace) (time.Duration, error) {
	if p == nil || len(paces) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, len(paces))
	args := []any{id}
	for _, x := range paces {
		if x.w.N <= 0 {
			continue
		}
		win := x.w.Per + p.Limits.Slack
		keys = append(keys, p.Prefix+x.key+":"+strconv.FormatInt(win.Milliseconds(), 10))
		args = append(args, x.w.N, win.Milliseconds(), x.n)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	ms, err := takeScript.Run(ctx, p.R, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("pace: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// pacesFor lists the windows one delivery on channel to target counts against.
func (p *Pacer) pacesFor(ch Channel, target string) []pace {
	if p == nil {
		return nil
	}
	l := p.Limits
	var out []pace
	switch ch {
	case ToUsers:
		users := SplitUsers(target)
		for _, u := range users {
			for _, w := range l.PerUser {
				out = append(out, pace{"user:" + u, w, 1})
			}
		}
		out = append(out, pace{"company", l.Company, len(users)})
	case ToAppChat:
		for _, w := range l.PerChat {
			out = append(out, pace{"chat:" + target, w, 1})
		}
		out = append(out, pace{"company", l.Company, 1})
	case ToWebhook:
		out = append(out, pace{"robot:" + target, l.PerRobot, 1})
	}
	return out
}
