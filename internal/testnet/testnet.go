// Package testnet gives tests loopback addresses to listen on later.
package testnet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address with a port free right now, for a
// server the test starts later (a NATS server, a subprocess). The port is
// drawn from 20000–32767, below Linux's ephemeral range (32768–60999):
// a port taken with ":0" and released could meanwhile become the source
// port of one of the test's own outgoing connections or a proxy's
// listener, and the server then fails to bind it (seen as a cluster
// test's NATS server never listening).
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12768))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
