package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/httpapi/wsconn"
	"github.com/enroutehq/enroute/tracker"
)

// The viewers' live streams: a customer's tracking page, a dispatcher's
// board.

// newWS returns the registry of WebSocket connections. The Origin check is
// on: browsers may connect only from this server's own origin or its
// public URL; clients without an Origin header (phones, scripts) are not
// browsers and may connect.
func (s *Server) newWS() *wsconn.Registry {
	public, _ := url.Parse(s.cfg.PublicURL)
	m := s.ingestMetrics
	return wsconn.NewRegistry(wsconn.Config{
		WriteTimeout: s.cfg.WSWriteTimeout,
		Open:         m.wsOpen,
		Evictions:    m.evictions,
		Waited:       m.wsWaited,
		CheckOrigin: func(r *http.Request) bool {
			origin := r.Header.Get("Origin")
			if origin == "" {
				return true
			}
			u, err := url.Parse(origin)
			if err != nil {
				return false
			}
			return strings.EqualFold(u.Host, r.Host) || (public != nil && public.Host != "" && strings.EqualFold(u.Host, public.Host))
		},
		Refuse: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(ErrorResponse{Error: ErrorBody{Code: enroute.EINVALID, Message: "WebSocket handshake refused: " + reason.Error()}})
		},
	})
}

// watchAssignment is the customer's live stream, /t/{token}/live: the
// assigned technician's positions while the assignment is dispatched, then
// a status event and no more positions. With ?assignment={id}, the same
// for a crew member of the link's visit (crewOf), refused before the
// handshake (404 JSON) for any other assignment: the page follows each
// technician of a crew over a stream of its own. An unknown or expired
// token gets a policy close (1008).
func (s *Server) watchAssignment(c echo.Context) error {
	ctx := c.Request().Context()
	a, loc, lerr := s.trackedAssignment(ctx, c.Param("token"))
	if param := c.QueryParam("assignment"); lerr == nil && param != "" {
		m, err := s.crewMember(ctx, a, loc, param)
		if err != nil {
			return err
		}
		a = m
	}
	conn, err := s.ws.Upgrade(c.Response(), c.Request(), wsconn.Options{Delays: s.ingestMetrics.pushDelay})
	if err != nil {
		return nil
	}
	if lerr != nil {
		conn.Close(wsconn.ClosePolicy, "this link is no longer active")
		s.ws.Go(conn, nil)
		return nil
	}
	// Positions only to a verified address, and only while the company
	// tracks arrivals: a link sent with tracking off (for feedback) shows
	// none.
	located := loc.Verified
	if st, err := s.store.FindSettings(ctx); err != nil || !st.Dispatch.Tracking.Enabled {
		located = false
	}
	// Subscribe before reading the snapshot, so no update falls between.
	sub := s.hub.SubscribeAssignment(a, located, conn.Notify, conn.Evict)
	snap := map[string]any{"type": "snapshot", "assignment_id": a.ID, "status": a.Status}
	if a.WorkingAt != nil {
		snap["arrived_at"] = a.WorkingAt
	}
	if a.Status == enroute.StatusDispatched && located {
		if p, ok := s.live.LivePosition(a.TechnicianID); ok {
			snap["position"] = positionOf(&p)
		}
	}
	s.switchTo(conn, customerSource{sub}, snap)
	s.ws.Go(conn, func() {
		defer s.hub.Unsubscribe(sub)
		conn.Read(nil)
	})
	return nil
}

// switchTo makes src conn's source, with snapshot first.
func (s *Server) switchTo(conn *wsconn.Conn, src wsconn.Source, snapshot any) {
	b, err := json.Marshal(snapshot)
	if err != nil {
		s.logger.Error("encode a snapshot", "err", err)
		conn.Close(websocket.CloseInternalServerErr, "Internal error.")
		return
	}
	_ = conn.Switch(src, b) // an error: the connection is closing
}

// trackedAssignment resolves a tracking token to its assignment and the
// job's location. Returns ENOTFOUND for an unknown or expired token.
func (s *Server) trackedAssignment(ctx context.Context, token string) (*enroute.Assignment, *enroute.Location, error) {
	link, err := s.store.FindTrackingLink(ctx, enroute.HashSecret(token))
	if err != nil {
		return nil, nil, err
	}
	a, err := s.store.FindAssignmentByID(ctx, link.AssignmentID)
	if err != nil {
		return nil, nil, err
	}
	job, err := s.store.FindJobByID(ctx, a.JobID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := s.store.FindLocationByID(ctx, job.LocationID)
	if err != nil {
		return nil, nil, err
	}
	return a, loc, nil
}

// viewMsg is a dispatcher's subscribe message: a viewport
// [minLat, minLng, maxLat, maxLng], or everything when bbox is absent.
type viewMsg struct {
	Type string    `json:"type"`
	BBox []float64 `json:"bbox"`
}

// watchBoard is the dispatcher's live stream, /api/v1/live: send
// {"type":"subscribe","bbox":[minLat,minLng,maxLat,maxLng]} (or no bbox
// for everything); the answer is a snapshot, then updates inside it. A new
// subscribe message replaces the viewport.
func (s *Server) watchBoard(c echo.Context) error {
	conn, err := s.ws.Upgrade(c.Response(), c.Request(), wsconn.Options{Gap: max(0, s.cfg.BoardFlush)})
	if err != nil {
		return nil
	}
	s.ws.Go(conn, func() { s.board(conn) })
	return nil
}

// board reads a dispatcher's subscribe messages and serves them.
func (s *Server) board(conn *wsconn.Conn) {
	var cur *tracker.Sub // touched by the reading goroutine only
	defer func() {
		if cur != nil {
			s.hub.Unsubscribe(cur)
		}
	}()
	conn.Read(func(msg []byte) error {
		box, err := decodeView(msg)
		if err != nil {
			return errors.New(enroute.ErrorMessage(err))
		}
		sub := s.hub.SubscribeView(box, conn.Notify, conn.Evict)
		if cur != nil {
			s.hub.Unsubscribe(cur)
		}
		cur = sub
		var snapshot []enroute.Position
		if box != nil {
			snapshot = s.live.LiveInBox(enroute.Box{MinLat: box.MinLat, MinLng: box.MinLng, MaxLat: box.MaxLat, MaxLng: box.MaxLng})
		} else {
			snapshot = s.live.LivePositions()
		}
		msgs := make([]positionMsg, len(snapshot))
		inView := map[int64]bool{}
		for i := range snapshot {
			msgs[i] = positionOf(&snapshot[i])
			inView[snapshot[i].TechnicianID] = true
		}
		// The distance and ETA of assignments en route in view, so a board
		// opened mid-drive shows them at once.
		progress := []progressMsg{}
		if s.progress != nil {
			for _, p := range s.progress.AllProgress() {
				if inView[p.TechnicianID] {
					progress = append(progress, progressMsg{Type: "progress", Progress: p, ETAS: etaSeconds(p)})
				}
			}
		}
		s.switchTo(conn, boardSource{sub}, map[string]any{"type": "snapshot", "positions": msgs, "progress": progress})
		return nil
	})
}

var errViewMsg = errorf(enroute.EINVALID, `Send {"type":"subscribe","bbox":[minLat,minLng,maxLat,maxLng]} or {"type":"subscribe"}.`)

// decodeView reads a dispatcher's subscribe message: the viewport it asks
// for, or nil for everything.
func decodeView(msg []byte) (*geo.BBox, error) {
	var m viewMsg
	if err := json.Unmarshal(msg, &m); err != nil || m.Type != "subscribe" || (m.BBox != nil && len(m.BBox) != 4) {
		return nil, errViewMsg
	}
	if m.BBox == nil {
		return nil, nil
	}
	b, err := geo.NewBBox(m.BBox[0], m.BBox[1], m.BBox[2], m.BBox[3])
	if err != nil {
		return nil, errorf(enroute.EINVALID, "The bbox %v: [minLat,minLng,maxLat,maxLng].", err)
	}
	return &b, nil
}
