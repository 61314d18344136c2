package dist

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream running in this process, for
// `dash run --workers N` on one machine and for tests. It listens on
// 127.0.0.1 only.
type Embedded struct {
	S   *server.Server
	URL string
}

// StartEmbedded starts a server on 127.0.0.1 (port 0: a free one) that
// keeps its JetStream data in storeDir.
func StartEmbedded(storeDir string, port int) (*Embedded, error) {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: storeDir,
		NoSigs: true, NoLog: true, DisableJetStreamBanner: true})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS server: not ready after 10 s")
	}
	return &Embedded{S: s, URL: s.ClientURL()}, nil
}

// Shutdown stops the server.
func (e *Embedded) Shutdown() {
	e.S.Shutdown()
	e.S.WaitForShutdown()
}
