package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bot's Prometheus series. Each server registers its own set on its own
// registry, so tests can run several servers in one process.
type Metrics struct {
	Callbacks *prometheus.CounterVec // source, outcome
	Sends     *prometheus.CounterVec // channel, result
	Inbox     *prometheus.CounterVec // result: done, retry, failed
	// The inbox's group commits: how long each took, and the callbacks they carried.
	InboxCommit     prometheus.Histogram
	InboxCommitRows prometheus.Counter
}

// NewMetrics registers the bot's counters, and the outbox depth and age read from stats at
// scrape time (nil: none), on reg.
func NewMetrics(reg prometheus.Registerer, stats QueueStats) *Metrics {
	m := &Metrics{
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fangpin_wecom_callbacks_total",
			Help: "WeCom callbacks by source (app, aibot) and outcome (accepted, duplicate, bad_signature, …).",
		}, []string{"source", "outcome"}),
		Sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fangpin_wecom_sends_total",
			Help: "Outbox delivery attempts by channel and result (sent, retry, failed, paced).",
		}, []string{"channel", "result"}),
		Inbox: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fangpin_inbox_handled_total",
			Help: "Inbox messages handed to the handler, by result (done, retry, failed).",
		}, []string{"result"}),
		InboxCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fangpin_inbox_commit_seconds",
			Help:    "Group commits of callbacks into the inbox (each waits for the disk before its callbacks get their 200).",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 3},
		}),
		InboxCommitRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fangpin_inbox_commit_callbacks_total",
			Help: "Callbacks carried by the inbox's group commits (divided by the commits: callbacks a commit).",
		}),
	}
	reg.MustRegister(m.Callbacks, m.Sends, m.Inbox, m.InboxCommit, m.InboxCommitRows)
	if stats != nil {
		reg.MustRegister(&outboxCollector{stats: stats})
	}
	return m
}

var (
	outboxDepthDesc = prometheus.NewDesc("fangpin_outbox_pending", "Messages waiting in the outbox.", nil, nil)
	outboxAgeDesc   = prometheus.NewDesc("fangpin_outbox_oldest_pending_seconds", "Age of the oldest message waiting in the outbox.", nil, nil)
	outboxFailDesc  = prometheus.NewDesc("fangpin_outbox_failed", "Messages the outbox gave up on.", nil, nil)
	inboxDepthDesc  = prometheus.NewDesc("fangpin_inbox_pending", "Received messages not yet handled.", nil, nil)
	inboxAgeDesc    = prometheus.NewDesc("fangpin_inbox_oldest_pending_seconds", "Age of the oldest message not yet handled.", nil, nil)
	inboxFailDesc   = prometheus.NewDesc("fangpin_inbox_failed", "Received messages whose handler kept failing.", nil, nil)
)

type outboxCollector struct{ stats QueueStats }

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
	ch <- outboxFailDesc
	ch <- inboxDepthDesc
	ch <- inboxAgeDesc
	ch <- inboxFailDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, failed, age, err := c.stats.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(outboxFailDesc, prometheus.GaugeValue, float64(failed))
	depth, failed, age, err = c.stats.InboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(inboxDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(inboxDepthDesc, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(inboxAgeDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(inboxFailDesc, prometheus.GaugeValue, float64(failed))
}
