package server

import (
	"encoding/json"
	"net/http"
)

// mountMap serves the basemap (docs/API.md v1.3 "Maps"): GET /api/v1/map
// and the MBTiles tiles, to any role.
func (s *Server) mountMap(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/map", s.api.Authed("GET /api/v1/map", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := s.cfg.Map.Info()
		if s.cfg.HasNetwork != nil {
			info.Network = s.cfg.HasNetwork()
		} else {
			info.Network = s.travel.Network() != nil
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(info)
	})))
	mux.Handle("GET /tiles/{z}/{x}/{y}", s.api.Authed("GET /tiles/{z}/{x}/{y}", s.cfg.Map.Tiles()))
}
