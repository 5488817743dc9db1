package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound means no object has the kind and id asked for.
	ErrNotFound = errors.New("not found")
	// ErrConflict means another object already holds the uniqueness key.
	// Errors returned for it are *ConflictError, which also carries the id of
	// the object that holds the key.
	ErrConflict = errors.New("uniqueness conflict")
)

// ConflictError reports which object already holds a uniqueness key.
type ConflictError struct {
	Kind       Kind
	Unique     string
	ExistingID string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q is taken by %s", e.Kind, e.Unique, e.ExistingID)
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// Kind names a collection of objects. The emulator uses PingOne's collection
// names ("environments", "users", ...) and a few internal ones that start with
// an underscore; the store treats them all alike.
type Kind string

// Object is one stored object.
type Object struct {
	Kind Kind
	ID   string
	// EnvID is the environment the object lives in; "" for objects outside
	// any environment (organizations, licenses, environments themselves).
	// Deleting an environment deletes every object whose EnvID is its id.
	EnvID string
	// ParentID is the object this one belongs to inside its environment (an
	// application for its grants, a resource for its scopes); "" otherwise.
	// Deleting an object deletes its children.
	ParentID string
	// Unique, when not empty, must be unique among objects of the same Kind,
	// EnvID and ParentID. The database enforces it; callers normalise it
	// (for example lower-case usernames).
	Unique string
	// Doc is the object as the API shows it, without _links.
	Doc json.RawMessage
	// Private holds server-side state the API never shows (password hashes,
	// client secrets, signing keys, lockout counters). May be nil.
	Private json.RawMessage
	// Seq orders objects by creation; the store assigns it.
	Seq int64
}

// Filter is a condition on fields of Doc. A zero Filter matches everything.
// Comparisons of strings are case-insensitive, as PingOne's SCIM filters are
// for usernames and emails.
type Filter struct {
	Op    string // "eq", "sw", "and", "or"; "" matches everything
	Path  string // dotted path into Doc, e.g. "name.given" (eq, sw)
	Value string // compared value (eq, sw); "true"/"false" match JSON booleans
	Args  []Filter
}

// ListQuery selects objects of one kind, in creation order.
type ListQuery struct {
	Kind     Kind
	EnvID    string
	ParentID string // "" lists objects regardless of parent
	// Unique, when set, selects the object holding this uniqueness key (the
	// fast path for natural-key look-ups).
	Unique string
	Filter Filter
	After  int64 // only objects with Seq > After (a paging cursor)
	Limit  int   // at most this many; 0 means no limit
}

// Page is one page of a listing.
type Page struct {
	Items []Object
	Total int  // objects matching the query, ignoring After and Limit
	More  bool // objects matching the query follow the last item
}

// DB is the emulator's store. Safe for concurrent use: reads run in
// parallel, writes are serialised, each in one transaction.
type DB struct {
	sql  *sql.DB
	path string // "" for in-memory
	wmu  sync.Mutex

	smu   sync.Mutex
	stmts map[string]*sql.Stmt
}

// Open opens (creating if needed) the store in dir, as dir/p1ctl.db, in WAL
// mode, and migrates its schema. An empty dir opens a private in-memory
// store.
func Open(ctx context.Context, dir string) (*DB, error) {
	var dsn, path string
	if dir == "" {
		// A memory database lives as long as its connection: keep exactly
		// one, open for good (no shared cache, whose table locks are not
		// needed with one connection).
		dsn = "file::memory:?_pragma=foreign_keys(1)"
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		path = filepath.Join(dir, "p1ctl.db")
		// The store holds client secrets and password hashes: create it
		// readable by its owner only (SQLite gives -wal and -shm the same
		// mode).
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create store: %w", err)
		}
		f.Close()
		// synchronous(NORMAL) in WAL mode never loses a committed
		// transaction when the process dies (kill -9); only an OS crash or
		// power loss can drop the last commits.
		dsn = "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
			"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if dir == "" {
		sdb.SetMaxOpenConns(1)
		sdb.SetConnMaxIdleTime(0)
		sdb.SetConnMaxLifetime(0)
	} else {
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(8)
	}
	db := &DB{sql: sdb, path: path, stmts: map[string]*sql.Stmt{}}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	// Prepare the statements that writes use, so that transactions find
	// them cached.
	for _, q := range writeStatements {
		if _, err := db.stmt(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("prepare store statements: %w", err)
		}
	}
	return db, nil
}

// Path is the database file, or "" for an in-memory store.
func (db *DB) Path() string { return db.path }

// Close closes the store. Committed writes are durable.
func (db *DB) Close() error {
	db.smu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = map[string]*sql.Stmt{}
	db.smu.Unlock()
	return db.sql.Close()
}

// Tx runs fn in one write transaction: all of its writes commit together or
// none do. fn must not call methods of db itself.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{q: querier{db: db, tx: stx}}); err != nil {
		stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Get reads one object.
func (db *DB) Get(ctx context.Context, kind Kind, id string) (Object, error) {
	return get(ctx, querier{db: db}, kind, id)
}

// List reads one page of objects.
func (db *DB) List(ctx context.Context, q ListQuery) (Page, error) {
	return list(ctx, querier{db: db}, q)
}

// Create stores a new object and returns it with its Seq.
func (db *DB) Create(ctx context.Context, o Object) (Object, error) {
	var out Object
	err := db.Tx(ctx, func(tx *Tx) (err error) { out, err = tx.Create(ctx, o); return err })
	return out, err
}

// Put replaces the Doc, Private, ParentID and Unique of an existing object.
func (db *DB) Put(ctx context.Context, o Object) (Object, error) {
	var out Object
	err := db.Tx(ctx, func(tx *Tx) (err error) { out, err = tx.Put(ctx, o); return err })
	return out, err
}

// Update reads an object, lets fn change it, and stores the result, all in
// one transaction.
func (db *DB) Update(ctx context.Context, kind Kind, id string, fn func(*Object) error) (Object, error) {
	var out Object
	err := db.Tx(ctx, func(tx *Tx) (err error) { out, err = tx.Update(ctx, kind, id, fn); return err })
	return out, err
}

// Delete removes an object with its children (and, for an environment,
// everything in it).
func (db *DB) Delete(ctx context.Context, kind Kind, id string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.Delete(ctx, kind, id) })
}

// Reset deletes every object. The schema stays.
func (db *DB) Reset(ctx context.Context) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, `DELETE FROM objects`)
		return err
	})
}

// Tx is a write transaction. See DB.Tx.
type Tx struct {
	q querier
}

// querier runs SQL through prepared statements cached per query text:
// parsing SQL again for every call costs more than running it.
type querier struct {
	db *DB
	tx *sql.Tx // nil outside a transaction
}

// statement returns a prepared statement for query. Outside a transaction
// it prepares and caches; inside one it uses the cache only, because
// preparing needs a connection of the pool, and an in-memory store's one
// connection is the transaction's (nil: run unprepared).
func (q querier) statement(ctx context.Context, query string) *sql.Stmt {
	if q.tx == nil {
		st, err := q.db.stmt(ctx, query)
		if err != nil {
			return nil
		}
		return st
	}
	q.db.smu.Lock()
	st := q.db.stmts[query]
	q.db.smu.Unlock()
	if st == nil {
		return nil
	}
	return q.tx.StmtContext(ctx, st)
}

func (q querier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.statement(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.ExecContext(ctx, query, args...)
	}
	return q.db.sql.ExecContext(ctx, query, args...)
}

func (q querier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.statement(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.db.sql.QueryContext(ctx, query, args...)
}

func (q querier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.statement(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.db.sql.QueryRowContext(ctx, query, args...)
}

// maxStmts bounds the statement cache; list queries with filters make new
// query texts, most of which repeat.
const maxStmts = 512

func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.smu.Lock()
	st := db.stmts[query]
	db.smu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := db.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.smu.Lock()
	defer db.smu.Unlock()
	if old := db.stmts[query]; old != nil {
		st.Close()
		return old, nil
	}
	if len(db.stmts) >= maxStmts {
		for k, old := range db.stmts { // evict one, whichever
			old.Close()
			delete(db.stmts, k)
			break
		}
	}
	db.stmts[query] = st
	return st, nil
}

// Get reads one object inside the transaction.
func (tx *Tx) Get(ctx context.Context, kind Kind, id string) (Object, error) {
	return get(ctx, tx.q, kind, id)
}

// List reads one page of objects inside the transaction.
func (tx *Tx) List(ctx context.Context, q ListQuery) (Page, error) {
	return list(ctx, tx.q, q)
}

// Create stores a new object.
func (tx *Tx) Create(ctx context.Context, o Object) (Object, error) {
	if o.Kind == "" || o.ID == "" {
		return Object{}, fmt.Errorf("create: kind and id are required")
	}
	res, err := tx.q.ExecContext(ctx,
		sqlInsert,
		string(o.Kind), o.ID, o.EnvID, o.ParentID, nullable(o.Unique), string(o.Doc), nullableJSON(o.Private))
	if err != nil {
		return Object{}, tx.conflict(ctx, o, err)
	}
	if o.Seq, err = res.LastInsertId(); err != nil {
		return Object{}, err
	}
	return o, nil
}

// Put replaces an existing object's Doc, Private, ParentID and Unique.
func (tx *Tx) Put(ctx context.Context, o Object) (Object, error) {
	res, err := tx.q.ExecContext(ctx,
		sqlPut,
		o.ParentID, nullable(o.Unique), string(o.Doc), nullableJSON(o.Private), string(o.Kind), o.ID)
	if err != nil {
		return Object{}, tx.conflict(ctx, o, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Object{}, fmt.Errorf("%s %s: %w", o.Kind, o.ID, ErrNotFound)
	}
	return get(ctx, tx.q, o.Kind, o.ID)
}

// Update reads an object, lets fn change it, and stores it. Kind and ID
// cannot change.
func (tx *Tx) Update(ctx context.Context, kind Kind, id string, fn func(*Object) error) (Object, error) {
	o, err := get(ctx, tx.q, kind, id)
	if err != nil {
		return Object{}, err
	}
	if err := fn(&o); err != nil {
		return Object{}, err
	}
	o.Kind, o.ID = kind, id
	return tx.Put(ctx, o)
}

// Delete removes an object, its children, and for an environment everything
// inside it.
func (tx *Tx) Delete(ctx context.Context, kind Kind, id string) error {
	res, err := tx.q.ExecContext(ctx, sqlDelete, string(kind), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	if _, err := tx.q.ExecContext(ctx, sqlDeleteEnv, id); err != nil {
		return err
	}
	return tx.deleteChildren(ctx, []string{id})
}

// deleteChildren removes objects whose parent is in ids, level by level.
func (tx *Tx) deleteChildren(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		var next []string
		for _, id := range ids {
			rows, err := tx.q.QueryContext(ctx, sqlDeleteChildren, id)
			if err != nil {
				return err
			}
			for rows.Next() {
				var cid string
				if err := rows.Scan(&cid); err != nil {
					rows.Close()
					return err
				}
				next = append(next, cid)
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		ids = next
	}
	return nil
}

// conflict turns a uniqueness violation into a *ConflictError naming the
// object that holds the key.
func (tx *Tx) conflict(ctx context.Context, o Object, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
	default:
		return err
	}
	ce := &ConflictError{Kind: o.Kind, Unique: o.Unique}
	row := tx.q.QueryRowContext(ctx, sqlHolder,
		string(o.Kind), o.EnvID, o.ParentID, o.Unique)
	if row.Scan(&ce.ExistingID) != nil {
		ce.ExistingID = o.ID // the id itself was taken
	}
	return ce
}

const columns = `seq, kind, id, env_id, parent_id, COALESCE(uniq, ''), doc, private`

// Statements of writes and point reads, prepared when the store opens.
const (
	sqlInsert         = `INSERT INTO objects (kind, id, env_id, parent_id, uniq, doc, private) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlPut            = `UPDATE objects SET parent_id = ?, uniq = ?, doc = ?, private = ? WHERE kind = ? AND id = ?`
	sqlDelete         = `DELETE FROM objects WHERE kind = ? AND id = ?`
	sqlDeleteEnv      = `DELETE FROM objects WHERE env_id = ?`
	sqlDeleteChildren = `DELETE FROM objects WHERE parent_id = ? RETURNING id`
	sqlHolder         = `SELECT id FROM objects WHERE kind = ? AND env_id = ? AND parent_id = ? AND uniq = ?`
	sqlGet            = `SELECT ` + columns + ` FROM objects WHERE kind = ? AND id = ?`
)

var writeStatements = []string{sqlInsert, sqlPut, sqlDelete, sqlDeleteEnv, sqlDeleteChildren, sqlHolder, sqlGet}

func get(ctx context.Context, q querier, kind Kind, id string) (Object, error) {
	row := q.QueryRowContext(ctx, sqlGet, string(kind), id)
	o, err := scan(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Object{}, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	return o, err
}

func scan(scanFn func(...any) error) (Object, error) {
	var (
		o       Object
		kind    string
		doc     string
		private sql.NullString
	)
	if err := scanFn(&o.Seq, &kind, &o.ID, &o.EnvID, &o.ParentID, &o.Unique, &doc, &private); err != nil {
		return Object{}, err
	}
	o.Kind = Kind(kind)
	o.Doc = json.RawMessage(doc)
	if private.Valid {
		o.Private = json.RawMessage(private.String)
	}
	return o, nil
}

func list(ctx context.Context, q querier, lq ListQuery) (Page, error) {
	where := []string{"kind = ?", "env_id = ?"}
	args := []any{string(lq.Kind), lq.EnvID}
	if lq.ParentID != "" {
		where = append(where, "parent_id = ?")
		args = append(args, lq.ParentID)
	}
	if lq.Unique != "" {
		where = append(where, "uniq = ?")
		args = append(args, lq.Unique)
	}
	if lq.Filter.Op != "" {
		cond, fargs, err := filterSQL(lq.Filter)
		if err != nil {
			return Page{}, err
		}
		where = append(where, cond)
		args = append(args, fargs...)
	}
	cond := strings.Join(where, " AND ")

	var page Page
	if lq.Limit > 0 || lq.After > 0 {
		// A page of a larger listing: count the whole. A full listing
		// counts its items instead.
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM objects WHERE `+cond, args...).Scan(&page.Total); err != nil {
			return Page{}, fmt.Errorf("count %s: %w", lq.Kind, err)
		}
	}
	query := `SELECT ` + columns + ` FROM objects WHERE ` + cond + ` AND seq > ? ORDER BY seq`
	args = append(args, lq.After)
	if lq.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, lq.Limit+1)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list %s: %w", lq.Kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scan(rows.Scan)
		if err != nil {
			return Page{}, err
		}
		page.Items = append(page.Items, o)
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	if lq.Limit > 0 && len(page.Items) > lq.Limit {
		page.Items, page.More = page.Items[:lq.Limit], true
	}
	if lq.Limit <= 0 && lq.After <= 0 {
		page.Total = len(page.Items)
	}
	return page, nil
}

// filterSQL translates a Filter into a SQL condition over the doc column.
func filterSQL(f Filter) (string, []any, error) {
	switch f.Op {
	case "and", "or":
		if len(f.Args) == 0 {
			return "", nil, fmt.Errorf("filter: %s needs operands", f.Op)
		}
		parts := make([]string, 0, len(f.Args))
		var args []any
		for _, a := range f.Args {
			c, aa, err := filterSQL(a)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, "("+c+")")
			args = append(args, aa...)
		}
		return strings.Join(parts, " "+strings.ToUpper(f.Op)+" "), args, nil
	case "eq", "sw":
		if !validPath(f.Path) {
			return "", nil, fmt.Errorf("filter: bad attribute path %q", f.Path)
		}
		jp := "'$." + f.Path + "'"
		// Booleans come back from json_extract as 0/1; compare their JSON
		// spelling instead so that `enabled eq true` works.
		val := `(CASE json_type(doc, ` + jp + `) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ` +
			`ELSE lower(CAST(json_extract(doc, ` + jp + `) AS TEXT)) END)`
		if f.Op == "eq" {
			return val + " = lower(?)", []any{f.Value}, nil
		}
		return val + ` LIKE ? ESCAPE '\'`, []any{likePrefix(strings.ToLower(f.Value))}, nil
	default:
		return "", nil, fmt.Errorf("filter: unsupported operator %q", f.Op)
	}
}

func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return false
	}
	for _, r := range p {
		if !(r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }
