// The echo server of ../README.md on goroutines, as workloads/echo/echo_server.cpp serves:
// net.Listen (SO_REUSEADDR is Go's default; the backlog is the kernel's somaxconn, which Go
// reads itself and has no knob for: 4096 by default since Linux 5.4), one goroutine per
// connection with SetNoDelay(true) (already Go's default, set anyway as the contract asks) that
// reads up to `buffer` bytes and writes them all back until EOF or an error. SIGTERM/SIGINT
// (os/signal) close the listener and every connection, then the counters line is printed.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type echoServer struct {
	buffer      int
	connections int64 // accepted
	errors      int64 // ended in an error other than EOF, a reset or our own close
	mu          sync.Mutex
	open        map[net.Conn]struct{} // guarded by mu; closed on a signal
}

// countError counts err unless it is an end: EOF, the peer's reset (or the EPIPE after one),
// or the shutdown's own close.
func (s *echoServer) countError(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return
	}
	atomic.AddInt64(&s.errors, 1)
}

func (s *echoServer) serve(c *net.TCPConn) {
	defer func() {
		s.mu.Lock()
		delete(s.open, c)
		s.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, s.buffer)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil { // Write writes all, or fails
				s.countError(werr)
				return
			}
		}
		if err != nil {
			s.countError(err)
			return
		}
	}
}

func (s *echoServer) acceptLoop(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return // stopped by the signal
		}
		if err != nil { // out of fds and the like: count it and back off rather than spin
			atomic.AddInt64(&s.errors, 1)
			time.Sleep(time.Millisecond)
			continue
		}
		atomic.AddInt64(&s.connections, 1)
		c := conn.(*net.TCPConn)
		if err := c.SetNoDelay(true); err != nil {
			s.countError(err)
			c.Close()
			continue
		}
		s.mu.Lock()
		s.open[c] = struct{}{}
		s.mu.Unlock()
		go s.serve(c)
	}
}

// runEcho serves until SIGTERM or SIGINT; an error only when it cannot listen.
func runEcho(bind string, port int64, buffer int64) error {
	// The handler first, so a signal sent right after the port line is never fatal.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.FormatInt(port, 10)))
	if err != nil {
		return fmt.Errorf("echo: %v", err)
	}
	fmt.Printf("{\"port\": %d, \"build\": \"%s\"}\n", ln.Addr().(*net.TCPAddr).Port, build())
	os.Stdout.Sync() // fmt writes os.Stdout unbuffered; Sync fails harmlessly on a pipe

	s := &echoServer{buffer: int(buffer), open: map[net.Conn]struct{}{}}
	go s.acceptLoop(ln)
	<-stop
	ln.Close() // stop accepting
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	fmt.Printf("{\"connections\": %d, \"errors\": %d}\n",
		atomic.LoadInt64(&s.connections), atomic.LoadInt64(&s.errors))
	return nil
}
