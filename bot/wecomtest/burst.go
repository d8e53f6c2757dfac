package wecomtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fangpin/fangpin/bot"
)

// Callback is one sealed app callback, as SealApp returns it.
type Callback struct {
	Query url.Values
	Body  []byte
}

// BurstResult is what a burst of callbacks measured.
type BurstResult struct {
	PerSec   float64
	P50, P99 time.Duration
}

// Burst posts every callback to target from clients connections at once, as WeCom does
// under load, and measures the rate and the latency of the answers. Any answer other than
// 200 is an error, so a benchmark never reports the speed of refusals.
func Burst(target string, cbs []Callback, clients int) (BurstResult, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, len(cbs))
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cbs) {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(target+"?"+cbs[i].Query.Encode(), "text/xml", bytes.NewReader(cbs[i].Body))
				if err != nil {
					fail(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("callback %d: status %d", i, resp.StatusCode))
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return BurstResult{}, firstErr
	}
	if len(lat) == 0 {
		return BurstResult{}, nil
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return BurstResult{PerSec: float64(len(cbs)) / el.Seconds(), P50: lat[len(lat)/2], P99: lat[len(lat)*99/100]}, nil
}

// BareHandler is the floor the callback benchmarks compare against: it reads, verifies
// and decrypts a callback like the real one and does nothing else.
func BareHandler(crypto *bot.Crypto) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if xml.Unmarshal(body, &env) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		q := r.URL.Query()
		if _, err := crypto.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt); err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
		}
	})
}
