package httpapi

import (
	"encoding/json"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi/wsconn"
	"github.com/enroutehq/enroute/tracker"
)

// deviceAck acknowledges one batch on the device stream, once its fixes
// are committed: the phone may then discard them.
type deviceAck struct {
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
	*tracker.Result
	Error *ErrorBody `json:"error,omitempty"`
}

// streamBatch is a batch on the device stream: {"seq":n,"fixes":[...]}.
type streamBatch struct {
	Seq   int64           `json:"seq"`
	Fixes json.RawMessage `json:"fixes"`
}

// decodeBatch reads one batch of the device stream: its sequence number
// (0 when the message is not a batch at all) and its fixes.
func decodeBatch(msg []byte) (int64, []tracker.Item, error) {
	var b streamBatch
	if err := json.Unmarshal(msg, &b); err != nil || b.Fixes == nil {
		return 0, nil, errorf(enroute.EINVALID, `Send {"seq":n,"fixes":[...]}.`)
	}
	items, err := tracker.DecodeNative(b.Fixes)
	if err != nil {
		return b.Seq, nil, errorf(enroute.EINVALID, "%s", err.Error())
	}
	return b.Seq, items, nil
}

// deviceStream is /api/v1/devices/stream: a device sends batches
// {"seq":n,"fixes":[...]} continuously and gets {"type":"ack","seq":n,...}
// for each once its fixes are committed (or an error to resend it later).
// Batches are handled in order, one at a time.
func (s *Server) deviceStream(c echo.Context, dev *enroute.Device) error {
	conn, err := s.ws.Upgrade(c.Response(), c.Request(), wsconn.Options{})
	if err != nil {
		return nil
	}
	s.ws.Go(conn, func() { s.stream(conn, dev) })
	return nil
}

// stream reads a device's batches and acknowledges each once committed,
// until the device is revoked, given a new token or deleted: its streams
// are closed then, and a batch read meanwhile is not taken.
func (s *Server) stream(conn *wsconn.Conn, dev *enroute.Device) {
	ctx := conn.Context() // ends with the connection: a batch cut short is not acknowledged
	gone := s.streams.add(dev.ID, dev.TokenHash, conn)
	defer s.streams.remove(dev.ID, conn)
	conn.Read(func(msg []byte) error {
		if gone.Load() {
			return errStreamGone
		}
		ack := deviceAck{Type: "ack"}
		seq, items, err := decodeBatch(msg)
		ack.Seq = seq
		if err != nil {
			ack.Error = &ErrorBody{Code: enroute.ErrorCode(err), Message: enroute.ErrorMessage(err)}
		} else {
			res, err := s.ingest(ctx, "stream", dev, items)
			if err != nil {
				ack.Error = &ErrorBody{Code: enroute.ErrorCode(err), Message: enroute.ErrorMessage(err)}
			} else {
				ack.Result = res
			}
		}
		b, err := json.Marshal(ack)
		if err != nil {
			return err
		}
		_ = conn.Send(b) // an error: closing, and Read ends
		return nil
	})
}

// errStreamGone refuses a batch read after the device lost its right to
// send: its stream is being closed with 4001 (closeChangedStreams).
var errStreamGone = errors.New("the device was revoked or its token replaced")
