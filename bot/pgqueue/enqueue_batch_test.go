package pgqueue_test

import (
	"context"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// Queued in one call or one at a time, the outbox ends up with the same rows: keys already
// queued are ignored (also twice in one call), equal messages are rows of their own (the
// worker marks each by its id), and a file keeps its content.
func TestEnqueueBatchAsOneByOne(t *testing.T) {
	ctx := context.Background()
	text := func(key string, ch bot.Channel, target, s string) bot.Outgoing {
		m := bot.Outgoing{Key: key, Channel: ch, Target: target}
		m.MsgType, m.Body = bot.Text(s)
		return m
	}
	file := bot.Outgoing{Key: "f", Channel: bot.ToUsers, Target: "zhaoliu", MsgType: "file", Body: []byte(`{}`), File: []byte("台账")}
	first := []bot.Outgoing{text("a", bot.ToUsers, "zhangsan", "同一句话")}
	batch := []bot.Outgoing{
		text("a", bot.ToUsers, "zhangsan", "同一句话"), // queued before: ignored
		text("b", bot.ToUsers, "zhangsan", "同一句话"),
		text("c", bot.ToUsers, "lisi", "同一句话"),
		text("d", bot.ToUsers, "zhangsan", "同一句话"),
		text("d", bot.ToUsers, "zhangsan", "同一句话"), // twice in the call: once
		text("e", bot.ToAppChat, "wrCG0001", "同一句话"),
		text("g", bot.ToAppChat, "wrCG0001", "同一句话"),
		file,
	}
	type row struct {
		Key    string `db:"idem_key"`
		Target string `db:"target"`
		File   []byte `db:"attachment"`
	}
	outbox := func(one bool) []row {
		db := pgtest.New(t)
		if err := pgqueue.Enqueue(ctx, db, first...); err != nil {
			t.Fatal(err)
		}
		if one {
			for _, m := range batch {
				if err := pgqueue.Enqueue(ctx, db, m); err != nil {
					t.Fatal(err)
				}
			}
		} else if err := pgqueue.Enqueue(ctx, db, batch...); err != nil {
			t.Fatal(err)
		}
		var rows []row
		if err := db.Select(&rows, `SELECT idem_key, target, attachment FROM outbox ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	one, many := outbox(true), outbox(false)
	want := map[string]int{"a": 0, "b": 1, "c": 0, "d": 2, "e": 0, "g": 0, "f": 0}
	for name, rows := range map[string][]row{"one by one": one, "in one call": many} {
		if len(rows) != len(want) {
			t.Fatalf("%s: %d rows, want %d: %+v", name, len(rows), len(want), rows)
		}
		for i, r := range rows {
			if _, ok := want[r.Key]; !ok {
				t.Errorf("%s: unexpected row %s", name, r.Key)
			}
			if r.Key != one[i].Key {
				t.Errorf("%s: row %d is %s, one by one it is %s", name, i, r.Key, one[i].Key)
			}
		}
		if f := rows[len(rows)-1]; f.Key != "f" || string(f.File) != "台账" {
			t.Errorf("%s: file row %+v", name, f)
		}
		for _, r := range rows[:len(rows)-1] {
			if r.File != nil {
				t.Errorf("%s: %s has an attachment %q", name, r.Key, r.File)
			}
		}
	}
}
