package store

import (
	"context"
	"fmt"
)

// migrations are applied in order, each once, each in its own transaction.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: one table for every kind of object. Uniqueness keys are scoped to
	// kind, environment and parent; list order is creation order (seq).
	`CREATE TABLE objects (
		seq       INTEGER PRIMARY KEY AUTOINCREMENT,
		kind      TEXT NOT NULL,
		id        TEXT NOT NULL,
		env_id    TEXT NOT NULL DEFAULT '',
		parent_id TEXT NOT NULL DEFAULT '',
		uniq      TEXT,
		doc       TEXT NOT NULL,
		private   TEXT,
		UNIQUE (kind, id)
	);
	CREATE UNIQUE INDEX objects_uniq ON objects (kind, env_id, parent_id, uniq) WHERE uniq IS NOT NULL;
	CREATE INDEX objects_list ON objects (kind, env_id, seq);
	CREATE INDEX objects_env ON objects (env_id);
	CREATE INDEX objects_parent ON objects (parent_id) WHERE parent_id != '';`,
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return len(migrations) }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := db.sql.QueryRowContext(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate: store schema version %d is newer than this p1ctl (%d); upgrade p1ctl", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		err := db.Tx(ctx, func(tx *Tx) error {
			if _, err := tx.q.ExecContext(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.q.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	return nil
}
