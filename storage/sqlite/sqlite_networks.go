package sqlite

import (
	"context"
	"database/sql"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Travel network versions (networks table, migration 00006). A GeoJSON or
// Stats of length zero is stored as NULL and read back as nil: a removal
// round-trips with nil GeoJSON and Stats.

// PutNetwork stores a new version of the travel network and sets n.Seq.
func (s *Store) PutNetwork(ctx context.Context, n *storage.Network) (err error) {
	defer errd.Wrap(&err, "sqlite: put network")
	var geo any
	if len(n.GeoJSON) > 0 {
		geo = n.GeoJSON
	}
	var seq int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO networks (version, created_by, created_at, stats, geojson)
			VALUES (?, ?, ?, ?, ?) RETURNING seq`,
			n.Version, n.CreatedBy, tv(n.CreatedAt), rawText(n.Stats), geo).Scan(&seq)
	})
	if err != nil {
		return err
	}
	n.Seq = seq
	return nil
}

// CurrentNetwork returns the newest version, GeoJSON included;
// storage.ErrNotFound when none was ever stored.
func (s *Store) CurrentNetwork(ctx context.Context) (_ storage.Network, err error) {
	defer errd.Wrap(&err, "sqlite: current network")
	var n storage.Network
	var geo []byte
	err = s.readRow(ctx, `SELECT seq, version, created_by, created_at, stats, geojson
		FROM networks ORDER BY seq DESC LIMIT 1`).
		Scan(&n.Seq, &n.Version, &n.CreatedBy, timeCol{&n.CreatedAt}, rawCol{&n.Stats}, &geo)
	if err != nil {
		return storage.Network{}, notFound(err, "network")
	}
	if len(geo) > 0 {
		n.GeoJSON = geo
	}
	return n, nil
}

// NetworkHead is CurrentNetwork without the GeoJSON and Stats: it reads
// only the small columns, never the row's overflow pages.
func (s *Store) NetworkHead(ctx context.Context) (_ storage.Network, err error) {
	defer errd.Wrap(&err, "sqlite: network head")
	var n storage.Network
	err = s.readRow(ctx, `SELECT seq, version, created_by, created_at FROM networks ORDER BY seq DESC LIMIT 1`).
		Scan(&n.Seq, &n.Version, &n.CreatedBy, timeCol{&n.CreatedAt})
	if err != nil {
		return storage.Network{}, notFound(err, "network")
	}
	return n, nil
}

// ListNetworks returns up to limit versions (zero or less: 20), newest
// first, with their Stats and without their GeoJSON.
func (s *Store) ListNetworks(ctx context.Context, limit int) (_ []storage.Network, err error) {
	defer errd.Wrap(&err, "sqlite: list networks")
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.readRows(ctx, `SELECT seq, version, created_by, created_at, stats
		FROM networks ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Network{}
	for rows.Next() {
		var n storage.Network
		if err := rows.Scan(&n.Seq, &n.Version, &n.CreatedBy, timeCol{&n.CreatedAt}, rawCol{&n.Stats}); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
