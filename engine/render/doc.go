// Package render turns an engine.Plan into text for people (Text), JSON for
// machines (JSON) and Markdown for pull-request comments (Markdown), and an
// apply's progress and result into lines for people (Event, ApplySummary).
//
// Every function here is pure: it writes what its arguments say and nothing
// else. Renderers never compare values (engine/diff does) and never read
// Change.Desired or Change.Live, where write-only values and whole live
// objects live; they print only a Change's Fields, Name, ID and Reason, so a
// secret cannot reach an output through them. A field marked Sensitive prints
// as "(sensitive)" whatever its values hold. Output is deterministic: changes
// in plan order (wave, then address), fields by path, set elements and object
// keys sorted, no timestamps.
//
// render imports engine, engine/diff and the standard library only.
package render
