package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ageCollector reports, at each scrape, the age of the oldest delivery each consumer holds,
// asking the function the worker registered for it (TrackOldestInFlight): an age that grows
// between two events is only known by asking at the moment of the scrape.
type ageCollector struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	ages map[string]func() time.Duration
}

func newAgeCollector() *ageCollector {
	return &ageCollector{
		desc: prometheus.NewDesc(namespace+"_oldest_in_flight_seconds",
			"Age of the oldest delivery the consumer's pipeline holds (waiting for a goroutine, paused, or being handled), from the moment the worker's router handed it over; 0 when it holds none.",
			[]string{"consumer"}, nil),
		ages: map[string]func() time.Duration{},
	}
}

// Describe implements prometheus.Collector.
func (c *ageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *ageCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for consumer, age := range c.ages {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, age().Seconds(), consumer)
	}
}

// TrackOldestInFlight makes eventworker_oldest_in_flight_seconds{consumer} report what oldest
// returns at each scrape; a later call for the same consumer replaces the function.
func (m *Metrics) TrackOldestInFlight(consumer string, oldest func() time.Duration) {
	m.oldestInFlight.mu.Lock()
	defer m.oldestInFlight.mu.Unlock()
	m.oldestInFlight.ages[consumer] = oldest
}
