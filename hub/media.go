package hub

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/longyou/hub/storage"
)

const maxMediaBytes = 5 << 20

var mediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

func (h *Hub) handleUploadMedia(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !mediaTypes[ct] {
		return badRequest("Content-Type must be image/jpeg, image/png or image/webp")
	}
	if r.ContentLength > maxMediaBytes {
		return apiErr(CodeTooLarge, "an image is at most 5 MiB")
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxMediaBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(CodeTooLarge, "an image is at most 5 MiB")
		}
		return badRequest("could not read the body")
	}
	if len(data) == 0 {
		return badRequest("the image is empty")
	}
	// The bytes must be what the header says: no HTML served as an image.
	if sniffed := http.DetectContentType(data); sniffed != ct {
		return badRequest("the body is not a %s image", ct)
	}
	if !h.limits.allow(p.ID, "media") {
		return apiErr(CodeRateLimited, "too many uploads; wait a moment")
	}
	m := storage.Media{ID: newID("md_"), ContentType: ct, Size: len(data), OwnerID: p.ID, CreatedAt: h.now()}
	if err := h.store.PutMedia(r.Context(), m, data); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"media": map[string]any{
		"id": m.ID, "url": "/api/v1/media/" + m.ID, "content_type": m.ContentType, "size": m.Size,
	}})
	return nil
}

// handleGetMedia serves an image to its owner and to those who may read
// reports (cadres, commanders, admins). Browsers pass the token as ?token=.
func (h *Hub) handleGetMedia(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, data, err := h.store.GetMedia(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if m.OwnerID != p.ID && !p.is(storage.RoleCadre, storage.RoleCommander, storage.RoleAdmin) {
		return errNotFound
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(data)
	return nil
}

func (h *Hub) handleDensity(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !p.isCommand() && p.Role != storage.RoleCadre {
		return errForbidden
	}
	res := 7
	if s := r.URL.Query().Get("res"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 4 || n > 9 {
			return badRequest("res must be an integer from 4 to 9")
		}
		res = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"res": res, "cells": h.dir.index.Density(res)})
	return nil
}
