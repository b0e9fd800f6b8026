// Command enroute is the Enroute server: config -> construct -> wire -> run.
// `enroute backup` and `enroute restore` copy the embedded store (tool.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Time zones work on machines without a zoneinfo database.
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if len(os.Args) > 1 && tools[os.Args[1]] != "" {
		if err := m.Tool(ctx, os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "enroute:", err)
			os.Exit(1)
		}
		return
	}
	if err := m.ParseFlags(os.Args[1:]); errors.Is(err, errVersion) {
		fmt.Println("enroute", Version)
		return
	} else if errors.Is(err, flag.ErrHelp) {
		return
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "enroute:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		fmt.Fprintln(os.Stderr, "enroute:", err)
		os.Exit(1)
	}
	defer m.paceGC()()
	<-ctx.Done()
	stop() // A second signal kills at once.
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "enroute:", err)
		os.Exit(1)
	}
}
