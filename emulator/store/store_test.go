package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// eachStore runs fn against an in-memory store and a file store.
func eachStore(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	for name, dir := range map[string]func(t *testing.T) string{
		"Memory": func(*testing.T) string { return "" },
		"File":   func(t *testing.T) string { return t.TempDir() },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, err := Open(t.Context(), dir(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			fn(t, db)
		})
	}
}

func doc(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func ids(p Page) []string {
	var out []string
	for _, o := range p.Items {
		out = append(out, o.ID)
	}
	return out
}

func TestCreateGetPutDelete(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		o, err := db.Create(ctx, Object{Kind: "users", ID: "u1", EnvID: "e1", Unique: "alice",
			Doc: doc(map[string]any{"username": "Alice"}), Private: doc(map[string]string{"hash": "x"})})
		if err != nil {
			t.Fatal(err)
		}
		if o.Seq == 0 {
			t.Errorf("Create did not assign Seq")
		}
		got, err := db.Get(ctx, "users", "u1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(o, got); diff != "" {
			t.Errorf("Get: -want +got:\n%s", diff)
		}
		got.Doc = doc(map[string]any{"username": "Alice", "email": "a@example.com"})
		if _, err := db.Put(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Put(ctx, Object{Kind: "users", ID: "nope"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Put unknown: err = %v, want ErrNotFound", err)
		}
		if err := db.Delete(ctx, "users", "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Get(ctx, "users", "u1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after delete: err = %v, want ErrNotFound", err)
		}
		if err := db.Delete(ctx, "users", "u1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestUniqueness(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		mustCreate(t, db, Object{Kind: "users", ID: "u1", EnvID: "e1", Unique: "alice", Doc: doc(1)})
		cases := map[string]struct {
			obj      Object
			conflict bool
		}{
			"SameEnv":        {obj: Object{Kind: "users", ID: "u2", EnvID: "e1", Unique: "alice"}, conflict: true},
			"OtherEnv":       {obj: Object{Kind: "users", ID: "u3", EnvID: "e2", Unique: "alice"}},
			"OtherKind":      {obj: Object{Kind: "populations", ID: "p1", EnvID: "e1", Unique: "alice"}},
			"NoUnique":       {obj: Object{Kind: "users", ID: "u4", EnvID: "e1"}},
			"SecondNoUnique": {obj: Object{Kind: "users", ID: "u5", EnvID: "e1"}},
			"DuplicateID":    {obj: Object{Kind: "users", ID: "u1", EnvID: "e9", Unique: "zed"}, conflict: true},
		}
		for name, tc := range cases {
			tc.obj.Doc = doc(name)
			_, err := db.Create(ctx, tc.obj)
			if got := errors.Is(err, ErrConflict); got != tc.conflict {
				t.Errorf("%s: conflict = %v (err %v), want %v", name, got, err, tc.conflict)
			}
		}
		_, err := db.Create(ctx, Object{Kind: "users", ID: "u6", EnvID: "e1", Unique: "alice", Doc: doc(0)})
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.ExistingID != "u1" {
			t.Errorf("conflict error = %#v, want ExistingID u1", err)
		}
		// Put into a taken key conflicts too.
		u4, _ := db.Get(ctx, "users", "u4")
		u4.Unique = "alice"
		if _, err := db.Put(ctx, u4); !errors.Is(err, ErrConflict) {
			t.Errorf("Put to taken key: err = %v, want ErrConflict", err)
		}
	})
}

func TestListPagingAndFilters(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		users := []map[string]any{
			{"username": "alice", "email": "alice@example.com", "name": map[string]any{"given": "Alice"}, "enabled": true, "population": map[string]any{"id": "p1"}},
			{"username": "bob", "email": "BOB@example.com", "name": map[string]any{"given": "Bob"}, "enabled": false, "population": map[string]any{"id": "p2"}},
			{"username": "alicia", "email": "alicia@example.org", "name": map[string]any{"given": "Alicia"}, "enabled": true, "population": map[string]any{"id": "p1"}},
			{"username": "a_b%", "email": "odd@example.org", "enabled": true, "population": map[string]any{"id": "p1"}},
		}
		for i, u := range users {
			mustCreate(t, db, Object{Kind: "users", ID: fmt.Sprintf("u%d", i), EnvID: "e1", Unique: u["username"].(string), Doc: doc(u)})
		}
		mustCreate(t, db, Object{Kind: "users", ID: "other", EnvID: "e2", Unique: "alice", Doc: doc(users[0])})

		cases := map[string]struct {
			q    ListQuery
			want []string
		}{
			"All":           {q: ListQuery{Kind: "users", EnvID: "e1"}, want: []string{"u0", "u1", "u2", "u3"}},
			"ByUnique":      {q: ListQuery{Kind: "users", EnvID: "e1", Unique: "bob"}, want: []string{"u1"}},
			"EqFoldsCase":   {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "eq", Path: "email", Value: "bob@EXAMPLE.com"}}, want: []string{"u1"}},
			"StartsWith":    {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "sw", Path: "username", Value: "ali"}}, want: []string{"u0", "u2"}},
			"SwEscapesLike": {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "sw", Path: "username", Value: "a_"}}, want: []string{"u3"}},
			"Nested":        {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "eq", Path: "name.given", Value: "alicia"}}, want: []string{"u2"}},
			"Boolean":       {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "eq", Path: "enabled", Value: "false"}}, want: []string{"u1"}},
			"And": {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "and", Args: []Filter{
				{Op: "eq", Path: "population.id", Value: "p1"}, {Op: "sw", Path: "email", Value: "alic"}}}}, want: []string{"u0", "u2"}},
			"Or": {q: ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "or", Args: []Filter{
				{Op: "eq", Path: "username", Value: "bob"}, {Op: "eq", Path: "username", Value: "a_b%"}}}}, want: []string{"u1", "u3"}},
			"Empty": {q: ListQuery{Kind: "users", EnvID: "e3"}},
		}
		for name, tc := range cases {
			p, err := db.List(ctx, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if diff := cmp.Diff(tc.want, ids(p)); diff != "" {
				t.Errorf("%s: -want +got:\n%s", name, diff)
			}
			if p.Total != len(tc.want) {
				t.Errorf("%s: Total = %d, want %d", name, p.Total, len(tc.want))
			}
		}

		// Walk pages of two.
		var walked []string
		after, pages := int64(0), 0
		for {
			p, err := db.List(ctx, ListQuery{Kind: "users", EnvID: "e1", After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			walked = append(walked, ids(p)...)
			if p.Total != 4 {
				t.Errorf("page %d: Total = %d, want 4", pages, p.Total)
			}
			if !p.More {
				break
			}
			after = p.Items[len(p.Items)-1].Seq
		}
		if diff := cmp.Diff([]string{"u0", "u1", "u2", "u3"}, walked); diff != "" || pages != 2 {
			t.Errorf("paging walked %d pages: -want +got:\n%s", pages, diff)
		}

		if _, err := db.List(ctx, ListQuery{Kind: "users", EnvID: "e1", Filter: Filter{Op: "eq", Path: "x') OR 1=1 --", Value: "v"}}); err == nil {
			t.Errorf("List accepted a path that is not an attribute")
		}
	})
}

func TestDeleteCascades(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		mustCreate(t, db, Object{Kind: "environments", ID: "e1", Doc: doc(1)})
		mustCreate(t, db, Object{Kind: "applications", ID: "a1", EnvID: "e1", Doc: doc(1)})
		mustCreate(t, db, Object{Kind: "grants", ID: "g1", EnvID: "e1", ParentID: "a1", Doc: doc(1)})
		mustCreate(t, db, Object{Kind: "applications", ID: "a2", EnvID: "admin", Doc: doc(1)})
		mustCreate(t, db, Object{Kind: "roleAssignments", ID: "r1", EnvID: "admin", ParentID: "a2", Doc: doc(1)})
		mustCreate(t, db, Object{Kind: "_nested", ID: "n1", EnvID: "admin", ParentID: "r1", Doc: doc(1)})

		if err := db.Delete(ctx, "applications", "a2"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"r1", "n1"} {
			if p, _ := db.List(ctx, ListQuery{Kind: map[string]Kind{"r1": "roleAssignments", "n1": "_nested"}[id], EnvID: "admin"}); len(p.Items) != 0 {
				t.Errorf("child %s survived its parent's delete", id)
			}
		}
		if err := db.Delete(ctx, "environments", "e1"); err != nil {
			t.Fatal(err)
		}
		for kind, id := range map[Kind]string{"applications": "a1", "grants": "g1"} {
			if _, err := db.Get(ctx, kind, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s %s survived its environment's delete", kind, id)
			}
		}
	})
}

func TestTxRollsBack(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *Tx) error {
			if _, err := tx.Create(ctx, Object{Kind: "environments", ID: "e1", Doc: doc(1)}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx err = %v, want boom", err)
		}
		if _, err := db.Get(ctx, "environments", "e1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("write of a failed transaction is visible: %v", err)
		}
	})
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		mustCreate(t, db, Object{Kind: "users", ID: "u1", EnvID: "e1", Doc: doc(map[string]int{"n": 0})})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := db.Update(ctx, "users", "u1", func(o *Object) error {
					var v map[string]int
					if err := json.Unmarshal(o.Doc, &v); err != nil {
						return err
					}
					v["n"]++
					o.Doc = doc(v)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		o, _ := db.Get(ctx, "users", "u1")
		if string(o.Doc) != `{"n":20}` {
			t.Errorf("after 20 concurrent updates Doc = %s, want {\"n\":20}", o.Doc)
		}
	})
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, Object{Kind: "users", ID: "u1", EnvID: "e1", Unique: "alice", Doc: doc(1)})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Get(ctx, "users", "u1"); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	if _, err := db.Create(ctx, Object{Kind: "users", ID: "u2", EnvID: "e1", Unique: "alice", Doc: doc(1)}); !errors.Is(err, ErrConflict) {
		t.Errorf("uniqueness not kept across reopen: %v", err)
	}
}

func TestResetEmpties(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db *DB) {
		mustCreate(t, db, Object{Kind: "users", ID: "u1", EnvID: "e1", Doc: doc(1)})
		if err := db.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.List(t.Context(), ListQuery{Kind: "users", EnvID: "e1"}); p.Total != 0 {
			t.Errorf("after Reset %d users remain", p.Total)
		}
	})
}

func mustCreate(t *testing.T, db *DB, o Object) Object {
	t.Helper()
	o, err := db.Create(context.Background(), o)
	if err != nil {
		t.Fatalf("create %s %s: %v", o.Kind, o.ID, err)
	}
	return o
}

func TestFileModeIsPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustCreate(t, db, Object{Kind: "users", ID: "u1", Doc: doc(1)})
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		t.Errorf("store file mode = %v, want no group or other access", mode)
	}
}
