package broker

import (
	"sync"
	"time"
)

// settler sends a channel's acknowledgements: *amqp.Channel is one.
type settler interface {
	Ack(tag uint64, multiple bool) error
	Nack(tag uint64, multiple, requeue bool) error
}

// acker settles one channel's deliveries with as few frames as it can: messages finish out of
// order, and it acknowledges each contiguous run of finished deliveries with one multiple ack
// (basic.ack with multiple set acknowledges every delivery up to its tag). A settlement waits at
// most ackDelay for others to share its frame, and not at all once every delivery handed out is
// settled, so a busy channel acknowledges many messages per frame and an idle one each at once.
// A rejected message is nacked on its own, at once, and requeued. Each frame is a write to the
// socket and work for the broker, so this is most of what a consumer saves over acknowledging
// message by message.
type acker struct {
	ch      settler
	settled chan settlement
	holds   chan bool // true holds the frames back, false lets them go
	stopped chan struct{}

	mu          sync.Mutex
	outstanding int           // delivered, not settled yet
	idle        chan struct{} // closed while nothing is outstanding or unsent
	idleClosed  bool
	err         error // the first error an ack or nack returned
}

// ackDelay bounds how long a finished message's ack may wait for others, and ackBatch how many
// settlements make a frame go at once. The delay holds a few messages of the prefetch window: at
// a few thousand messages a second, a handful.
const (
	ackDelay = time.Millisecond
	ackBatch = 64
)

type settlement struct {
	tag uint64
	ack bool
}

// newAcker starts the acker of a channel whose first delivery tag is 1.
func newAcker(ch settler) *acker {
	a := &acker{ch: ch, settled: make(chan settlement, 256), holds: make(chan bool), stopped: make(chan struct{}), idle: make(chan struct{})}
	close(a.idle)
	a.idleClosed = true
	go a.run()
	return a
}

// delivered counts a delivery handed out, before it can be settled. Deliveries come with
// consecutive tags from 1: the broker numbers a channel's deliveries so, and amqp091-go drops one
// only after its consumer was cancelled, after every delivery handed out here.
func (a *acker) delivered() {
	a.mu.Lock()
	if a.idleClosed {
		a.idle = make(chan struct{})
		a.idleClosed = false
	}
	a.outstanding++
	a.mu.Unlock()
}

// settle records the outcome of delivery tag: ack, or a nack that requeues it.
func (a *acker) settle(tag uint64, ack bool) {
	select {
	case a.settled <- settlement{tag, ack}:
	case <-a.stopped:
	}
}

// hold keeps the acker's frames back until release: an ack frees a slot of the prefetch window,
// and the broker fills it, so while a consumer is being cancelled nothing is settled, lest a
// delivery cross the cancel (see Subscriber.Stop).
func (a *acker) hold() {
	select {
	case a.holds <- true:
	case <-a.stopped:
	}
}

// release sends what was held back.
func (a *acker) release() {
	select {
	case a.holds <- false:
	case <-a.stopped:
	}
}

// idleChan is closed once every delivery handed out so far is settled and its frame sent.
func (a *acker) idleChan() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.idle
}

// stop ends the acker; settlements after it are dropped (their channel is closing, and the
// broker returns what was not acknowledged).
func (a *acker) stop() {
	select {
	case <-a.stopped:
	default:
		close(a.stopped)
	}
}

// firstErr is the first error a frame returned, or nil.
func (a *acker) firstErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *acker) run() {
	var (
		next    uint64 = 1 // every tag below it is settled and its frame sent
		sent    uint64     // the highest tag of a multiple ack sent
		done    = map[uint64]bool{}
		nacks   []uint64 // rejected while held
		held    bool
		pending []settlement
		timer   = time.NewTimer(time.Hour)
	)
	timer.Stop()
	// flush sends the frames for what is settled: nacks alone, then one multiple ack for the
	// contiguous run of finished deliveries, which never covers a nacked one.
	flush := func() {
		for _, tag := range nacks {
			a.record(a.ch.Nack(tag, false, true))
		}
		nacks = nacks[:0]
		ackUpTo := uint64(0)
		for {
			ack, ok := done[next]
			if !ok {
				break
			}
			delete(done, next)
			if ack {
				ackUpTo = next
			}
			next++
		}
		if ackUpTo > sent {
			a.record(a.ch.Ack(ackUpTo, true))
			sent = ackUpTo
		}
		a.mu.Lock()
		if a.outstanding == 0 && len(done) == 0 && !a.idleClosed {
			close(a.idle)
			a.idleClosed = true
		}
		a.mu.Unlock()
	}
	for {
		select {
		case s := <-a.settled:
			pending = append(pending[:0], s)
		case h := <-a.holds:
			held = h
			if !held {
				flush()
			}
			continue
		case <-a.stopped:
			return
		}
		// Gather the settlements that come within ackDelay, unless every delivery handed out
		// is settled: under load, many share one frame.
		timer.Reset(ackDelay)
	gather:
		for len(pending) < ackBatch && !a.allSettled(len(pending)) {
			select {
			case s := <-a.settled:
				pending = append(pending, s)
			case <-timer.C:
				break gather
			case <-a.stopped:
				return
			}
		}
		timer.Stop()
		for _, s := range pending {
			if !s.ack {
				nacks = append(nacks, s.tag)
			}
			done[s.tag] = s.ack
		}
		a.mu.Lock()
		a.outstanding -= len(pending)
		a.mu.Unlock()
		if !held {
			flush()
		}
	}
}

// allSettled reports whether the n settlements gathered are every delivery outstanding.
func (a *acker) allSettled(n int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.outstanding <= n
}

func (a *acker) record(err error) {
	if err == nil {
		return
	}
	a.mu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.mu.Unlock()
}
