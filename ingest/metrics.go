package ingest

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the daemon's Prometheus figures, in a registry of its own.
type metrics struct {
	reg     *prometheus.Registry
	records *prometheus.CounterVec
	bytes   *prometheus.CounterVec
	appends *prometheus.CounterVec
	latency *prometheus.HistogramVec
	errors  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "franzfs_appended_records_total", Help: "Records appended."}, []string{"stream"}),
		bytes:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "franzfs_appended_bytes_total", Help: "Payload bytes appended."}, []string{"stream"}),
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "franzfs_append_requests_total", Help: "Append requests answered."}, []string{"stream"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "franzfs_append_seconds", Help: "Time from an append request to its answer.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}, []string{"stream"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "franzfs_request_errors_total", Help: "Requests answered with an error."}, []string{"stream", "method", "code"}),
	}
	m.reg.MustRegister(m.records, m.bytes, m.appends, m.latency, m.errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) appended(stream string, records, bytes int, d time.Duration) {
	m.records.WithLabelValues(stream).Add(float64(records))
	m.bytes.WithLabelValues(stream).Add(float64(bytes))
	m.appends.WithLabelValues(stream).Inc()
	m.latency.WithLabelValues(stream).Observe(d.Seconds())
}

// fsyncCollector reports each open writer's fsync calls.
type fsyncCollector struct{ s *Server }

var fsyncsDesc = prometheus.NewDesc("franzfs_fsyncs_total", "fsync calls made for a stream since its writer opened.", []string{"stream"}, nil)

func (c fsyncCollector) Describe(ch chan<- *prometheus.Desc) { ch <- fsyncsDesc }

func (c fsyncCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for name, w := range c.s.writers {
		ch <- prometheus.MustNewConstMetric(fsyncsDesc, prometheus.CounterValue, float64(w.Fsyncs()), name)
	}
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }
