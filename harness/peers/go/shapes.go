// The spawn_storm shapes on goroutines, one per function of workloads/spawn_storm/spawn_storm.cpp:
//
//	flat        flat()           -> `go` per leaf; an atomic countdown, the last closes a channel
//	tree        skynet()         -> node(): `fanout` child goroutines send their sums on one channel
//	yield_many  spawn_yielders() -> runtime.Gosched() `yields` times per goroutine
//	ping_pong   ping_pongs()     -> two one-slot channels per pair; ping waits for pong to end
//	chained     chained()        -> each link starts the next; the last sends the links counted
//
// Each root is itself a goroutine, as Weft's block_on runs its root as a task on a worker.
package main

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

var shapeNames = []string{"flat", "tree", "yield_many", "ping_pong", "chained"}

// sizes holds the shape's flags, already checked (every one >= 1; leaves a power of fanout).
type sizes struct{ tasks, leaves, fanout, yieldTasks, yields, pairs int64 }

// warmUp gives the warm-up run's sizes (../README.md): a tenth of every count, at least 1, and a
// tree one level shallower. It starts the scheduler's threads and grows the heap.
func (s sizes) warmUp() sizes {
	tenth := func(n int64) int64 {
		if n < 10 {
			return 1
		}
		return n / 10
	}
	w := s
	w.tasks, w.yieldTasks, w.pairs = tenth(s.tasks), tenth(s.yieldTasks), tenth(s.pairs)
	if w.leaves = s.leaves / s.fanout; w.leaves < 1 {
		w.leaves = 1
	}
	return w
}

// timed runs root on a goroutine and times it, from just before starting it to receiving its
// result on the main goroutine.
func timed[T any](root func() T) (T, float64) {
	out := make(chan T, 1)
	start := time.Now()
	go func() { out <- root() }()
	v := <-out
	return v, time.Since(start).Seconds()
}

// countdown: countDown() from N goroutines, the last closes zero; fail() marks a wrong result.
type countdown struct {
	remaining int64
	failed    int32
	zero      chan struct{}
}

func newCountdown(n int64) *countdown { return &countdown{remaining: n, zero: make(chan struct{})} }

func (c *countdown) countDown() {
	if atomic.AddInt64(&c.remaining, -1) == 0 {
		close(c.zero)
	}
}

func (c *countdown) fail() { atomic.StoreInt32(&c.failed, 1) }

func (c *countdown) check(shape string) error {
	if left := atomic.LoadInt64(&c.remaining); left != 0 {
		return fmt.Errorf("%s: countdown ended at %d, not 0", shape, left)
	}
	if atomic.LoadInt32(&c.failed) != 0 {
		return fmt.Errorf("%s: a ping did not get 2 back", shape)
	}
	return nil
}

func leaf(done *countdown) { done.countDown() }

func flat(n int64, done *countdown) {
	for i := int64(0); i < n; i++ {
		go leaf(done)
	}
	<-done.zero
}

// node is skynet's: children send their sums on the parent's one result channel.
func node(num, size, fanout int64, out chan<- int64) {
	if size == 1 {
		out <- num
		return
	}
	sub := size / fanout
	results := make(chan int64, fanout)
	for i := int64(0); i < fanout; i++ {
		go node(num+i*sub, sub, fanout, results)
	}
	var sum int64
	for i := int64(0); i < fanout; i++ {
		sum += <-results
	}
	out <- sum
}

func yielder(yields int64, done *countdown) {
	for i := int64(0); i < yields; i++ {
		runtime.Gosched()
	}
	done.countDown()
}

func spawnYielders(n, yields int64, done *countdown) {
	for i := int64(0); i < n; i++ {
		go yielder(yields, done)
	}
	<-done.zero
}

func pongSide(ping <-chan int, pong chan<- int) {
	pong <- (<-ping) + 1
	close(pong) // its last act: what ping waits for, as Weft's ping awaits pong's JoinHandle
}

func pingSide(done *countdown) {
	ping, pong := make(chan int, 1), make(chan int, 1)
	go pongSide(ping, pong)
	ping <- 1
	v := <-pong
	<-pong // closed: the pong side has ended
	if v != 2 {
		done.fail() // Weft's would hang instead; count down anyway and fail the check
	}
	done.countDown()
}

func pingPongs(pairs int64, done *countdown) {
	for i := int64(0); i < pairs; i++ {
		go pingSide(done)
	}
	<-done.zero
}

func chain(remaining, links int64, done chan<- int64) {
	if remaining == 0 {
		done <- links
	} else {
		go chain(remaining-1, links+1, done)
	}
}

// runShape runs shape once, checks it, and returns the units it counts and its seconds.
func runShape(shape string, s sizes) (int64, float64, error) {
	switch shape {
	case "flat":
		done := newCountdown(s.tasks)
		_, secs := timed(func() struct{} { flat(s.tasks, done); return struct{}{} })
		return s.tasks, secs, done.check(shape)
	case "tree":
		sum, secs := timed(func() int64 {
			out := make(chan int64, 1)
			node(0, s.leaves, s.fanout, out) // the root goroutine is the root node
			return <-out
		})
		if want := s.leaves * (s.leaves - 1) / 2; sum != want {
			return 0, 0, fmt.Errorf("tree: sum %d != expected %d", sum, want)
		}
		nodes, _ := treeNodes(s.leaves, s.fanout)
		return nodes, secs, nil
	case "yield_many":
		done := newCountdown(s.yieldTasks)
		_, secs := timed(func() struct{} {
			spawnYielders(s.yieldTasks, s.yields, done)
			return struct{}{}
		})
		return s.yieldTasks * (s.yields + 1), secs, done.check(shape)
	case "ping_pong":
		done := newCountdown(s.pairs)
		_, secs := timed(func() struct{} { pingPongs(s.pairs, done); return struct{}{} })
		return 2 * s.pairs, secs, done.check(shape)
	case "chained":
		links, secs := timed(func() int64 {
			done := make(chan int64, 1)
			go chain(s.tasks-1, 1, done)
			return <-done
		})
		if links != s.tasks {
			return 0, 0, fmt.Errorf("chained: the chain ended after %d links, not %d", links, s.tasks)
		}
		return s.tasks, secs, nil
	}
	return 0, 0, fmt.Errorf("unknown shape '%s' (valid: %s)", shape, strings.Join(shapeNames, ", "))
}

// treeNodes is skynet's node count, leaves + leaves/fanout + ... + 1; ok is false when leaves
// is not a power of fanout (or fanout < 2): the same walk as Weft's.
func treeNodes(leaves, fanout int64) (nodes int64, ok bool) {
	if fanout < 2 {
		return 0, false
	}
	level := int64(1)
	for level < leaves {
		nodes += level
		if level > leaves/fanout {
			break
		}
		level *= fanout
	}
	return nodes + leaves, level == leaves
}
