package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
)

// The travel network's routes (docs/API.md v1.3).

// geometry is a GeoJSON geometry object.
type geometry struct {
	Type        string           `json:"type"`
	Coordinates [][][][2]float64 `json:"coordinates"`
}

// outlineGeometry is an isochrone outline as a GeoJSON MultiPolygon, or
// nil (JSON null) for none.
func outlineGeometry(mp [][][][2]float64) *geometry {
	if mp == nil {
		return nil
	}
	return &geometry{Type: "MultiPolygon", Coordinates: mp}
}

func (a *API) handlePutNetwork(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActManageNetwork, Scope{}) {
		return service.ErrForbidden
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/geo+json" && mt != "application/json" {
			return service.Invalid("Content-Type must be application/geo+json or application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, geo.MaxNetworkBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return service.Errorf(service.CodeTooLarge, "the travel network is larger than %d bytes", geo.MaxNetworkBytes)
		}
		return service.Invalid("could not read the body")
	}
	v, created, err := a.travel.Put(r.Context(), body, p.actor())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"network": v})
	return nil
}

func (a *API) handleDeleteNetwork(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActManageNetwork, Scope{}) {
		return service.ErrForbidden
	}
	if err := a.travel.Remove(r.Context(), p.actor()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"network": nil})
	return nil
}

func (a *API) handleGetNetwork(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadNetwork, Scope{}) {
		return service.ErrForbidden
	}
	hist, err := a.travel.History(r.Context())
	if err != nil {
		return err
	}
	out := map[string]any{"network": nil, "history": hist}
	if v, ok := a.travel.Current(); ok {
		out["network"] = v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) handleNetworkGeoJSON(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadNetwork, Scope{}) {
		return service.ErrForbidden
	}
	b := a.travel.Features()
	if b == nil {
		return service.Errorf(service.CodeNotFound, "no travel network is loaded")
	}
	w.Header().Set("Content-Type", "application/geo+json")
	if v, ok := a.travel.Current(); ok {
		w.Header().Set("ETag", strconv.Quote(v.Version))
	}
	_, _ = w.Write(b)
	return nil
}

func (a *API) handleIsochrone(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadNetwork, Scope{}) {
		return service.ErrForbidden
	}
	q := r.URL.Query()
	num := func(name string, def float64) (float64, error) {
		s := q.Get(name)
		if s == "" {
			if def == 0 {
				return 0, service.Invalid("%s is required", name)
			}
			return def, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, service.Invalid("%s must be a number", name)
		}
		return v, nil
	}
	lat, err := num("lat", 0)
	if err != nil {
		return err
	}
	lng, err := num("lng", 0)
	if err != nil {
		return err
	}
	minutes, err := num("minutes", geo.DefaultReachMins)
	if err != nil {
		return err
	}
	area := geo.Area{Reach: &geo.Reach{Lat: lat, Lng: lng, Minutes: minutes, Mode: q.Get("mode")}}
	if err := area.Normalize(); err != nil {
		return service.GeoErr(err)
	}
	reg, reach, err := a.travel.Compile(area)
	if err != nil {
		return service.GeoErr(err)
	}
	out := map[string]any{"reach": reach, "outline": nil, "cells": 0}
	if iso := reg.Isochrone(); iso != nil {
		out["outline"] = outlineGeometry(iso.Outline())
		out["cells"] = iso.Len()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
