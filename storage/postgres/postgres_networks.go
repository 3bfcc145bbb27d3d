package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Travel network versions (networks table, migration 00004). A GeoJSON or
// Stats of length zero is stored as NULL and read back as nil: a removal
// round-trips with nil GeoJSON and Stats. When no version was stored, the
// reads' pgx.ErrNoRows becomes ErrNotFound in wrapErr.

// PutNetwork stores a new version of the travel network and sets n.Seq.
func (s *Store) PutNetwork(ctx context.Context, n *storage.Network) (err error) {
	defer wrapErr(&err, "put network")
	var geo []byte
	if len(n.GeoJSON) > 0 {
		geo = n.GeoJSON
	}
	var seq int64
	err = s.pool.QueryRow(ctx, `INSERT INTO networks (version, created_by, created_at, stats, geojson)
		VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
		n.Version, n.CreatedBy, n.CreatedAt, jsonArg(n.Stats), geo).Scan(&seq)
	if err != nil {
		return err
	}
	n.Seq = seq
	return nil
}

// CurrentNetwork returns the newest version, GeoJSON included; ErrNotFound
// when none was ever stored.
func (s *Store) CurrentNetwork(ctx context.Context) (_ storage.Network, err error) {
	defer wrapErr(&err, "current network")
	var n storage.Network
	var stats, geo []byte
	err = s.pool.QueryRow(ctx, `SELECT seq, version, created_by, created_at, stats, geojson
		FROM networks ORDER BY seq DESC LIMIT 1`).
		Scan(&n.Seq, &n.Version, &n.CreatedBy, &n.CreatedAt, &stats, &geo)
	if err != nil {
		return storage.Network{}, err
	}
	if len(stats) > 0 {
		n.Stats = stats
	}
	if len(geo) > 0 {
		n.GeoJSON = geo
	}
	return n, nil
}

// NetworkHead is CurrentNetwork without the GeoJSON and Stats: it selects
// only the small columns, so the TOASTed ones are never read.
func (s *Store) NetworkHead(ctx context.Context) (_ storage.Network, err error) {
	defer wrapErr(&err, "network head")
	var n storage.Network
	err = s.pool.QueryRow(ctx, `SELECT seq, version, created_by, created_at
		FROM networks ORDER BY seq DESC LIMIT 1`).Scan(&n.Seq, &n.Version, &n.CreatedBy, &n.CreatedAt)
	if err != nil {
		return storage.Network{}, err
	}
	return n, nil
}

// ListNetworks returns up to limit versions (zero or less: 20), newest
// first, with their Stats and without their GeoJSON.
func (s *Store) ListNetworks(ctx context.Context, limit int) (_ []storage.Network, err error) {
	defer wrapErr(&err, "list networks")
	if limit <= 0 {
		limit = 20
	}
	rows, _ := s.pool.Query(ctx, `SELECT seq, version, created_by, created_at, stats
		FROM networks ORDER BY seq DESC LIMIT $1`, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Network, error) {
		var n storage.Network
		var stats []byte
		err := r.Scan(&n.Seq, &n.Version, &n.CreatedBy, &n.CreatedAt, &stats)
		if len(stats) > 0 {
			n.Stats = stats
		}
		return n, err
	})
}
