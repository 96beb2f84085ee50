package worker

import (
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// runners run a consumer's pipeline on goroutines that live as long as the worker, one per
// subscription, instead of on the goroutine Watermill starts for each message: a new goroutine
// starts with a small stack, and validating an event grows it several times over, each time by
// copying it, which cost more than the hand-over does.
type runners struct {
	jobs    chan *job
	stopped chan struct{}
	wg      sync.WaitGroup
}

type job struct {
	msg    *message.Message
	result chan error
}

var jobs = sync.Pool{New: func() any { return &job{result: make(chan error, 1)} }}

// startRunners starts n goroutines that run handle.
func startRunners(n int, handle message.NoPublishHandlerFunc) *runners {
	r := &runners{jobs: make(chan *job), stopped: make(chan struct{})}
	for range n {
		r.wg.Go(func() {
			for {
				select {
				case j := <-r.jobs:
					j.result <- handle(j.msg)
				case <-r.stopped:
					return
				}
			}
		})
	}
	return r
}

// handle is the Watermill handler: it runs msg on one of the goroutines and returns its result.
func (r *runners) handle(msg *message.Message) error {
	j := jobs.Get().(*job)
	j.msg = msg
	select {
	case r.jobs <- j:
	case <-r.stopped:
		j.msg = nil
		jobs.Put(j)
		return errDraining
	}
	err := <-j.result
	j.msg = nil
	jobs.Put(j)
	return err
}

// stop ends the goroutines once they are idle; messages handed over after it are not acked.
func (r *runners) stop() {
	close(r.stopped)
	r.wg.Wait()
}
