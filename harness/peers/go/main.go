// weft-peer-go: Weft's spawn_storm shapes (shapes.go) and echo server (echo.go) on goroutines,
// for `weft-bench --variant=peers`. The command line, output and exit codes are the contract in
// harness/peers/README.md:
//
//	weft-peer-go spawn_storm --shape=S --threads=T [--flavor=multi_thread]
//	             [--tasks=N] [--leaves=N] [--fanout=N] [--yield_tasks=N] [--yields=N] [--pairs=N]
//	weft-peer-go echo --threads=T [--flavor=multi_thread] [--bind=127.0.0.1] [--port=0] [--buffer=N]
//
// T is GOMAXPROCS. Go has one scheduler, so --flavor=current_thread is a usage error (exit 2).
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
)

var (
	stormFlags = []string{"shape", "threads", "flavor", "tasks", "leaves", "fanout", "yield_tasks",
		"yields", "pairs"}
	echoFlags = []string{"threads", "flavor", "bind", "port", "buffer"}
)

type usageError struct{ error } // exit 2; any other error exits 1

func build() string { return runtime.Version() }

// setThreads applies --threads and --flavor.
func setThreads(f flags) error {
	threads, err := f.int("threads", nil, 1)
	if err != nil {
		return err
	}
	if f["flavor"] == "current_thread" {
		return fmt.Errorf("--flavor=current_thread is not a Go concept: goroutines have one " +
			"scheduler (valid: multi_thread)")
	}
	if _, err := f.choice("flavor", ptr("multi_thread"), []string{"multi_thread"}); err != nil {
		return err
	}
	runtime.GOMAXPROCS(int(threads))
	return nil
}

func spawnStorm(args []string) error {
	f, err := parseFlags(args, stormFlags)
	if err != nil {
		return usageError{err}
	}
	shape, err := f.choice("shape", nil, shapeNames)
	if err != nil {
		return usageError{err}
	}
	var s sizes
	for _, p := range []struct {
		key string
		def int64
		dst *int64
	}{
		{"tasks", 1000000, &s.tasks}, {"leaves", 1000000, &s.leaves}, {"fanout", 10, &s.fanout},
		{"yield_tasks", 1000, &s.yieldTasks}, {"yields", 1000, &s.yields}, {"pairs", 100000, &s.pairs},
	} {
		if *p.dst, err = f.int(p.key, ptr(p.def), 1); err != nil {
			return usageError{err}
		}
	}
	if _, ok := treeNodes(s.leaves, s.fanout); shape == "tree" && !ok {
		return usageError{fmt.Errorf("tree: --leaves=%d is not a power of --fanout=%d (fanout >= 2)",
			s.leaves, s.fanout)}
	}
	if err := setThreads(f); err != nil {
		return usageError{err}
	}
	if _, _, err := runShape(shape, s.warmUp()); err != nil { // warm-up, untimed
		return err
	}
	units, secs, err := runShape(shape, s)
	if err != nil {
		return err
	}
	fmt.Printf("{\"units\": %d, \"unit\": \"task\", \"seconds\": %.9f, \"build\": \"%s\"}\n",
		units, secs, build())
	return nil
}

func echo(args []string) error {
	f, err := parseFlags(args, echoFlags)
	if err != nil {
		return usageError{err}
	}
	bind, err := f.text("bind", ptr("127.0.0.1"))
	if err == nil && net.ParseIP(bind) == nil {
		err = fmt.Errorf("--bind=%s: want an IPv4 or IPv6 address", bind)
	}
	if err != nil {
		return usageError{err}
	}
	port, err := f.int("port", ptr(int64(0)), 0)
	if err == nil && port > 65535 {
		err = fmt.Errorf("--port=%d: want 0 (any) to 65535", port)
	}
	if err != nil {
		return usageError{err}
	}
	buffer, err := f.int("buffer", ptr(int64(4096)), 1)
	if err != nil {
		return usageError{err}
	}
	if err := setThreads(f); err != nil {
		return usageError{err}
	}
	return runEcho(bind, port, buffer)
}

func main() {
	var err error
	switch {
	case len(os.Args) < 2:
		err = usageError{fmt.Errorf("usage: weft-peer-go spawn_storm|echo --key=value ...")}
	case os.Args[1] == "spawn_storm":
		err = spawnStorm(os.Args[2:])
	case os.Args[1] == "echo":
		err = echo(os.Args[2:])
	default:
		err = usageError{fmt.Errorf("unknown mode '%s' (valid: spawn_storm, echo)", os.Args[1])}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "weft-peer-go: %v\n", err)
		if _, usage := err.(usageError); usage {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
