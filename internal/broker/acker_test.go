package broker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// recSettler records the frames an acker sends.
type recSettler struct {
	mu     sync.Mutex
	frames []string
	acked  map[uint64]bool // tags covered by acks, as the broker applies them
	nacked map[uint64]bool
	unack  map[uint64]bool // delivered, not yet acked or nacked: what the broker holds
	errs   []string
}

func newRecSettler(n int) *recSettler {
	r := &recSettler{acked: map[uint64]bool{}, nacked: map[uint64]bool{}, unack: map[uint64]bool{}}
	for t := uint64(1); t <= uint64(n); t++ {
		r.unack[t] = true
	}
	return r
}

func (r *recSettler) Ack(tag uint64, multiple bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, fmt.Sprintf("ack %d multiple=%v", tag, multiple))
	if !r.unack[tag] {
		// RabbitMQ closes the channel: PRECONDITION_FAILED, unknown delivery tag.
		r.errs = append(r.errs, fmt.Sprintf("ack of unknown tag %d", tag))
	}
	for t := range r.unack {
		if t == tag || (multiple && t < tag) {
			delete(r.unack, t)
			r.acked[t] = true
		}
	}
	return nil
}

func (r *recSettler) Nack(tag uint64, multiple, requeue bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, fmt.Sprintf("nack %d multiple=%v requeue=%v", tag, multiple, requeue))
	if !r.unack[tag] || multiple || !requeue {
		r.errs = append(r.errs, fmt.Sprintf("bad nack of %d", tag))
	}
	delete(r.unack, tag)
	r.nacked[tag] = true
	return nil
}

// TestAckerSettlesOutOfOrderFinishes: messages finish in random order, some are rejected; the
// broker ends up with every accepted message acknowledged, every rejected one requeued, no ack
// of a tag it does not hold, and far fewer frames than messages.
func TestAckerSettlesOutOfOrderFinishes(t *testing.T) {
	const n = 2000
	r := newRecSettler(n)
	a := newAcker(r)
	defer a.stop()
	rng := rand.New(rand.NewPCG(7, 9))
	tags := make([]uint64, n)
	for i := range tags {
		tags[i] = uint64(i + 1)
		a.delivered()
	}
	rng.Shuffle(n, func(i, j int) { tags[i], tags[j] = tags[j], tags[i] })
	reject := map[uint64]bool{}
	for tag := uint64(1); tag <= n; tag++ {
		reject[tag] = tag%17 == 0
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				a.settle(tags[i], !reject[tags[i]])
			}
		})
	}
	wg.Wait()
	select {
	case <-a.idleChan():
	case <-time.After(5 * time.Second):
		t.Fatal("the acker never became idle")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatalf("frames the broker would refuse: %v", r.errs[:min(5, len(r.errs))])
	}
	if len(r.unack) != 0 {
		t.Fatalf("%d deliveries left unsettled", len(r.unack))
	}
	for tag := uint64(1); tag <= n; tag++ {
		if reject[tag] != r.nacked[tag] || reject[tag] == r.acked[tag] {
			t.Fatalf("tag %d: rejected %v, nacked %v, acked %v", tag, reject[tag], r.nacked[tag], r.acked[tag])
		}
	}
	acks := 0
	for _, f := range r.frames {
		if f[:3] == "ack" {
			acks++
		}
	}
	if acks >= n/2 {
		t.Errorf("%d ack frames for %d messages: the acker does not batch", acks, n)
	}
}

// TestAckerAcksAtOnceWhenIdle: a lone message is acknowledged without waiting for company.
func TestAckerAcksAtOnceWhenIdle(t *testing.T) {
	r := newRecSettler(2)
	a := newAcker(r)
	defer a.stop()
	a.delivered()
	a.settle(1, true)
	<-a.idleChan()
	a.delivered()
	a.settle(2, false)
	<-a.idleChan()
	r.mu.Lock()
	defer r.mu.Unlock()
	if want := []string{"ack 1 multiple=true", "nack 2 multiple=false requeue=true"}; !slices.Equal(r.frames, want) {
		t.Errorf("frames = %q, want %q", r.frames, want)
	}
}

// TestAckerWaitsForTheGapBeforeIt: a finished message after an unfinished one is acknowledged
// only once the earlier one is, by one frame for both.
func TestAckerWaitsForTheGapBeforeIt(t *testing.T) {
	r := newRecSettler(3)
	a := newAcker(r)
	defer a.stop()
	for range 3 {
		a.delivered()
	}
	a.settle(2, true)
	a.settle(3, true)
	time.Sleep(20 * ackDelay)
	r.mu.Lock()
	early := slices.Clone(r.frames)
	r.mu.Unlock()
	if len(early) != 0 {
		t.Fatalf("frames before tag 1 finished: %q", early)
	}
	a.settle(1, true)
	<-a.idleChan()
	r.mu.Lock()
	defer r.mu.Unlock()
	if want := []string{"ack 3 multiple=true"}; !slices.Equal(r.frames, want) {
		t.Errorf("frames = %q, want %q", r.frames, want)
	}
}
