// Command coldstart measures how long the enroute binary takes from exec to
// its first 200 on /readyz, on the embedded store: "fresh" runs start on an
// empty data directory (migrations and the first admin key included),
// "restart" runs on the directory the fresh run left.
//
//	go build -o bin/enroute ./cmd/enroute
//	go run ./bench/coldstart -bin bin/enroute -n 20
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/enroute", "the enroute binary")
	n := flag.Int("n", 20, "runs of each kind")
	flag.Parse()
	var fresh, restart []time.Duration
	for range *n {
		dir, err := os.MkdirTemp("", "enroute-coldstart-")
		if err != nil {
			fail(err)
		}
		fresh = append(fresh, measure(*bin, dir))
		restart = append(restart, measure(*bin, dir))
		os.RemoveAll(dir)
	}
	report("fresh data dir", fresh)
	report("restart", restart)
}

func measure(bin, dir string) time.Duration {
	addr := freeAddr()
	cmd := exec.Command(bin, "--addr", addr, "--osmand-addr", freeAddr(), "--data-dir", dir)
	cmd.Env = append(os.Environ(), "ENROUTE_DATABASE_URL=")
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	deadline := start.Add(30 * time.Second)
	var took time.Duration
	for {
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				took = time.Since(start)
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			fail(fmt.Errorf("no /readyz within 30s"))
		}
		time.Sleep(time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	return took
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func report(name string, d []time.Duration) {
	slices.Sort(d)
	fmt.Printf("%-15s n=%d  min %v  median %v  p90 %v  max %v\n", name, len(d),
		d[0].Round(time.Millisecond/10), d[len(d)/2].Round(time.Millisecond/10),
		d[len(d)*9/10].Round(time.Millisecond/10), d[len(d)-1].Round(time.Millisecond/10))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coldstart:", err)
	os.Exit(1)
}
