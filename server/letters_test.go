package server

import (
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// letterPolicy: a minute to answer, the township at two, the county at
// three, the SMS half a minute after each notice.
func letterPolicy(c *Config) {
	pol := policy.Default()
	pol.Letters = policy.Letters{Answer: policy.Duration(time.Minute), Township: policy.Duration(2 * time.Minute),
		County: policy.Duration(3 * time.Minute), SMSAfter: policy.Duration(30 * time.Second)}
	c.Policy = &pol
}

// writeLetter posts a letter and returns it.
func (e *testEnv) writeLetter(tok, to string) map[string]any {
	e.t.Helper()
	code, out := e.call("POST", "/api/v1/letters", tok, map[string]any{"to": to, "subject": "路灯坏了", "body": "三组路口的路灯坏了一个月"})
	if code != 201 {
		e.t.Fatalf("write a letter: %d %v", code, out)
	}
	return out["letter"].(map[string]any)
}

// letter reads a letter as tok: the status and the letter.
func (e *testEnv) letter(tok, id string) (int, map[string]any) {
	code, out := e.call("GET", "/api/v1/letters/"+id, tok, nil)
	l, _ := out["letter"].(map[string]any)
	return code, l
}

func readerIDs(l map[string]any) map[string]string {
	out := map[string]string{}
	rs, _ := l["readers"].([]any)
	for _, r := range rs {
		m := r.(map[string]any)
		out[m["member_id"].(string)] = m["reason"].(string)
	}
	return out
}

func threadKinds(l map[string]any) []string {
	var out []string
	for _, e := range l["thread"].([]any) {
		out = append(out, e.(map[string]any)["kind"].(string))
	}
	return out
}

// TestLetterAnsweredInTime: a letter to the village reaches its cadres
// live; the cadre's answer reaches the writer live; answered within the
// limit, it is never overdue, never escalated, and no SMS is queued.
func TestLetterAnsweredInTime(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, letterPolicy, func(c *Config) { c.Sender = snd })
	_, resTok := e.member(storage.RoleResident, 0, inside)
	cadre, cadreTok := e.member(storage.RoleCadre, 0, inside)
	rc, cc := e.dial(resTok), e.dial(cadreTok)
	rc.welcome()
	cc.welcome()

	l := e.writeLetter(resTok, "village")
	id := l["id"].(string)
	if l["status"] != "open" || l["level"] != "village" || l["overdue"] != false || l["to"] != "village" {
		t.Fatalf("new letter: %v", l)
	}
	f, _ := cc.nextOf("letter")
	if fl := f["letter"].(map[string]any); fl["id"] != id || fl["entry"].(map[string]any)["kind"] != "letter" {
		t.Fatalf("cadre's letter frame: %v", f)
	}
	rc.nextOf("letter") // the writer's own
	code, out := e.call("GET", "/api/v1/letters?status=open", cadreTok, nil)
	if code != 200 || len(out["letters"].([]any)) != 1 {
		t.Fatalf("cadre's open letters: %d %v", code, out)
	}

	e.advance(50 * time.Second)
	code, out = e.call("POST", "/api/v1/letters/"+id+"/reply", cadreTok, map[string]any{"body": "已安排电工明天修"})
	if code != 200 || out["letter"].(map[string]any)["status"] != "answered" {
		t.Fatalf("reply: %d %v", code, out)
	}
	f, _ = rc.nextOf("letter")
	entry := f["letter"].(map[string]any)["entry"].(map[string]any)
	if entry["kind"] != "reply" || entry["body"] != "已安排电工明天修" || entry["actor_id"] != cadre.ID {
		t.Fatalf("writer's reply frame: %v", f)
	}
	// The writer goes on with the thread; then closes it.
	if code, out := e.call("POST", "/api/v1/letters/"+id+"/reply", resTok, map[string]any{"body": "谢谢"}); code != 200 ||
		out["letter"].(map[string]any)["status"] != "answered" {
		t.Fatalf("writer's follow-up: %d %v", code, out)
	}

	e.advance(10 * time.Minute) // past every limit
	time.Sleep(300 * time.Millisecond)
	_, got := e.letter(resTok, id)
	if got["overdue"] != false || got["level"] != "village" || got["answered_at"] == nil {
		t.Errorf("answered letter after its limits: %v", got)
	}
	if k := threadKinds(got); !slices.Equal(k, []string{"letter", "reply", "reply"}) {
		t.Errorf("thread %v", k)
	}
	if msgs, err := e.store.ListMessages(t.Context(), storage.Ref{Type: storage.RefLetter, ID: id}); err != nil || len(msgs) != 0 {
		t.Errorf("SMS about an answered letter: %v %v", msgs, err)
	}
	if code, out := e.call("POST", "/api/v1/letters/"+id+"/reply", resTok, map[string]any{"close": true}); code != 200 ||
		out["letter"].(map[string]any)["status"] != "closed" {
		t.Fatalf("close: %d %v", code, out)
	}
	if code, _ := e.call("POST", "/api/v1/letters/"+id+"/reply", cadreTok, map[string]any{"body": "还有"}); code != 409 {
		t.Errorf("reply to a closed letter: %d, want 409", code)
	}
}

// TestLetterEscalates: a letter nobody answers is overdue at the first
// limit (a notice to the village's cadres, an SMS half a minute later),
// goes up to the township at the second (its cadre may read it now, gets
// a notice and one SMS), then to the county; each SMS is sent once; each
// step is in the letter's history and its readers; a second node on the
// same store finds nothing left to do.
func TestLetterEscalates(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, letterPolicy, func(c *Config) { c.Sender = snd })
	writer, resTok := e.member(storage.RoleResident, 0, inside)
	cadre, cadreTok := e.member(storage.RoleCadre, 0, inside)
	tc, tcTok := e.member(storage.RoleCadre, 1, inside)
	com, comTok := e.member(storage.RoleCommander, -1, inside)
	if code, _ := e.call("PUT", "/api/v1/members/"+tc.ID+"/township", e.admin, map[string]any{"township": "T"}); code != 200 {
		t.Fatal("township cadre")
	}
	cc, tcc := e.dial(cadreTok), e.dial(tcTok)
	cc.welcome()
	tcc.welcome()
	sms := func(phone string) int { return len(snd.to(phone)) }

	id := e.writeLetter(resTok, "village")["id"].(string)
	if code, _ := e.letter(tcTok, id); code != 404 {
		t.Fatalf("township cadre reads a village letter before it goes up: %d", code)
	}
	e.advance(59 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if _, l := e.letter(resTok, id); l["overdue"] != false {
		t.Fatalf("overdue a second early: %v", l)
	}
	e.advance(time.Second)
	n, _ := cc.nextOf("notice")
	if nb := n["notice"].(map[string]any); nb["kind"] != "letter_overdue" || nb["ref"].(map[string]any)["id"] != id {
		t.Fatalf("cadre's notice: %v", n)
	}
	waitFor(t, "overdue", func() bool { _, l := e.letter(resTok, id); return l["overdue"] == true })
	time.Sleep(200 * time.Millisecond)
	if sms(cadre.Phone) != 0 {
		t.Fatalf("SMS before its delay")
	}
	e.advance(30 * time.Second)
	waitFor(t, "the cadre's SMS", func() bool { return sms(cadre.Phone) == 1 })

	e.advance(30 * time.Second) // 2 minutes: the township
	n, _ = tcc.nextOf("notice")
	if nb := n["notice"].(map[string]any); nb["kind"] != "letter_township" {
		t.Fatalf("township cadre's notice: %v", n)
	}
	waitFor(t, "the township", func() bool { code, l := e.letter(tcTok, id); return code == 200 && l["level"] == "township" })
	if code, _ := e.letter(comTok, id); code != 404 {
		t.Fatalf("commander reads it before the county: %d", code)
	}
	e.advance(30 * time.Second)
	waitFor(t, "the township SMS", func() bool { return sms(tc.Phone) == 1 && sms(cadre.Phone) == 2 })

	e.advance(30 * time.Second) // 3 minutes: the county
	waitFor(t, "the county", func() bool { code, l := e.letter(comTok, id); return code == 200 && l["level"] == "county" })
	e.advance(30 * time.Second)
	waitFor(t, "the county SMS", func() bool { return sms(com.Phone) == 1 && sms(tc.Phone) == 2 && sms(cadre.Phone) == 3 })

	// Nothing more, however long it waits; a second node finds nothing.
	e.advance(time.Hour)
	s2, err := New(t.Context(), Config{Store: e.store, Logger: testLogger(t), Clock: e.now, PingInterval: time.Minute, Sender: snd})
	if err != nil {
		t.Fatalf("second node: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := s2.sched.Pending(); n != 0 {
		t.Errorf("%d jobs pending on the second node, want 0", n)
	}
	_ = s2.Shutdown(t.Context())
	if sms(cadre.Phone) != 3 || sms(tc.Phone) != 2 || sms(com.Phone) != 1 || sms(writer.Phone) != 0 {
		t.Errorf("SMS: cadre %d, township %d, commander %d, writer %d; want 3, 2, 1, 0",
			sms(cadre.Phone), sms(tc.Phone), sms(com.Phone), sms(writer.Phone))
	}
	_, l := e.letter(resTok, id)
	if k := threadKinds(l); !slices.Equal(k, []string{"letter", "overdue", "escalate", "escalate"}) {
		t.Errorf("history %v", k)
	}
	rs := readerIDs(l)
	if rs[cadre.ID] != "addressed" || rs[tc.ID] != "escalated" || rs[com.ID] != "escalated" {
		t.Errorf("readers %v", rs)
	}
	if l["status"] != "open" || l["overdue"] != true {
		t.Errorf("letter %v", l)
	}
	// An answer now (from the county) still answers it.
	if code, out := e.call("POST", "/api/v1/letters/"+id+"/reply", comTok, map[string]any{"body": "县里来处理"}); code != 200 ||
		out["letter"].(map[string]any)["status"] != "answered" {
		t.Errorf("county answer: %d %v", code, out)
	}
	if code, out := e.call("GET", "/api/v1/letters?overdue=true&level=county", comTok, nil); code != 200 || len(out["letters"].([]any)) != 1 {
		t.Errorf("commander's overdue county letters: %d %v", code, out)
	}
}

// TestLetterScope: only a letter's writer and readers see it; a letter to
// the township skips the village's cadres; a share is recorded and shown.
func TestLetterScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	res2, res2Tok := e.member(storage.RoleResident, 0, inside)
	cadre, cadreTok := e.member(storage.RoleCadre, 0, inside)
	other, otherTok := e.member(storage.RoleCadre, 1, inside)
	tc, tcTok := e.member(storage.RoleCadre, 1, inside)
	tcom, tcomTok := e.member(storage.RoleCommander, -1, inside)
	_, comTok := e.member(storage.RoleCommander, -1, inside)
	for _, id := range []string{tc.ID, tcom.ID} {
		if code, _ := e.call("PUT", "/api/v1/members/"+id+"/township", e.admin, map[string]any{"township": "T"}); code != 200 {
			t.Fatal("township")
		}
	}
	id := e.writeLetter(resTok, "village")["id"].(string)
	for _, c := range []struct {
		name, tok string
		want      int
	}{
		{"writer", resTok, 200}, {"village cadre", cadreTok, 200}, {"neighbour", res2Tok, 404},
		{"other village's cadre", otherTok, 404}, {"township cadre", tcTok, 404}, {"commander", comTok, 404},
		{"admin", e.admin, 404},
	} {
		if code, _ := e.letter(c.tok, id); code != c.want {
			t.Errorf("%s reads a village letter: %d, want %d", c.name, code, c.want)
		}
	}
	if code, out := e.call("GET", "/api/v1/letters", res2Tok, nil); code != 200 || len(out["letters"].([]any)) != 0 {
		t.Errorf("neighbour's list: %d %v", code, out)
	}
	for _, c := range []struct {
		name, tok, path string
		body            map[string]any
		want            int
	}{
		{"neighbour replies", res2Tok, "/reply", map[string]any{"body": "x"}, 404},
		{"other cadre replies", otherTok, "/reply", map[string]any{"body": "x"}, 404},
		{"other cadre shares", otherTok, "/share", map[string]any{"member_id": other.ID}, 404},
		{"writer shares", resTok, "/share", map[string]any{"member_id": other.ID}, 404},
		{"share with no one", cadreTok, "/share", map[string]any{"member_id": "m_nobody"}, 400},
		{"share with a resident", cadreTok, "/share", map[string]any{"member_id": res2.ID}, 400},
		{"empty reply", cadreTok, "/reply", map[string]any{"body": ""}, 400},
	} {
		if code, out := e.call("POST", "/api/v1/letters/"+id+c.path, c.tok, c.body); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	// The cadre shares it with the other village's cadre: recorded, shown.
	if code, out := e.call("POST", "/api/v1/letters/"+id+"/share", cadreTok, map[string]any{"member_id": other.ID}); code != 200 {
		t.Fatalf("share: %d %v", code, out)
	}
	if code, _ := e.letter(otherTok, id); code != 200 {
		t.Errorf("shared cadre reads it: %d", code)
	}
	_, l := e.letter(resTok, id)
	if rs := readerIDs(l); len(rs) != 2 || rs[cadre.ID] != "addressed" || rs[other.ID] != "shared" {
		t.Errorf("who can read it: %v", l["readers"])
	}
	if k := threadKinds(l); !slices.Equal(k, []string{"letter", "share"}) {
		t.Errorf("history %v", k)
	}

	// A letter to the township: its cadres and commanders, not the
	// village's cadre.
	tid := e.writeLetter(resTok, "township")["id"].(string)
	for _, c := range []struct {
		name, tok string
		want      int
	}{
		{"township cadre", tcTok, 200}, {"township commander", tcomTok, 200}, {"village cadre", cadreTok, 404},
		{"other commander", comTok, 404}, {"neighbour", res2Tok, 404},
	} {
		if code, _ := e.letter(c.tok, tid); code != c.want {
			t.Errorf("%s reads a township letter: %d, want %d", c.name, code, c.want)
		}
	}

	// Bad input changes nothing.
	for _, body := range []map[string]any{
		{"to": "county", "subject": "s", "body": "b"},
		{"to": "village", "subject": "", "body": "b"},
		{"to": "village", "subject": "s", "body": ""},
		{"to": "village", "subject": string(make([]rune, 101)), "body": "b"},
		{"to": 3},
	} {
		if code, out := e.call("POST", "/api/v1/letters", resTok, body); code != 400 {
			t.Errorf("letter %v: %d %v, want 400", body, code, out)
		}
	}
	if code, out := e.call("GET", "/api/v1/letters?overdue=maybe", resTok, nil); code != 400 {
		t.Errorf("bad filter: %d %v", code, out)
	}
	if code, out := e.call("GET", "/api/v1/letters", resTok, nil); code != 200 || len(out["letters"].([]any)) != 2 {
		t.Errorf("writer's letters: %d %v", code, out)
	}
	// Paged, newest first.
	code, out := e.call("GET", "/api/v1/letters?limit=1", resTok, nil)
	if code != 200 || out["letters"].([]any)[0].(map[string]any)["id"] != tid || out["next_before"] == nil {
		t.Fatalf("first page: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/letters?limit=1&before="+out["next_before"].(string), resTok, nil)
	if code != 200 || len(out["letters"].([]any)) != 1 || out["letters"].([]any)[0].(map[string]any)["id"] != id {
		t.Errorf("second page: %d %v", code, out)
	}
}

// TestLetterResume: the letter events of a member are replayed on resume
// exactly once, and only to the letter's writer and readers.
func TestLetterResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	_, res2Tok := e.member(storage.RoleResident, 0, inside)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)
	id := e.writeLetter(resTok, "village")["id"].(string)
	if code, _ := e.call("POST", "/api/v1/letters/"+id+"/reply", cadreTok, map[string]any{"body": "收到"}); code != 200 {
		t.Fatal("reply")
	}
	letters := func(tok string, since int64) []int64 {
		t.Helper()
		w := e.dial(tok)
		w.welcome()
		reply, before := w.cmd(map[string]any{"type": "resume", "since": since})
		if reply["ok"] != true {
			t.Fatalf("resume: %v", reply)
		}
		frames := before
	collect:
		for {
			select {
			case f := <-w.frames:
				frames = append(frames, f)
			case <-time.After(300 * time.Millisecond):
				break collect
			}
		}
		var seqs []int64
		for _, f := range frames {
			if f["type"] == "letter" {
				seqs = append(seqs, num(f["seq"]))
			}
		}
		return seqs
	}
	got := letters(resTok, 0)
	if len(got) != 2 || got[0] >= got[1] {
		t.Fatalf("writer's replay: %v, want the letter and the reply once each", got)
	}
	if again := letters(resTok, got[1]); len(again) != 0 {
		t.Errorf("replay after the last: %v", again)
	}
	if c := letters(cadreTok, 0); !slices.Equal(c, got) {
		t.Errorf("cadre's replay %v, want %v", c, got)
	}
	if n := letters(res2Tok, 0); len(n) != 0 {
		t.Errorf("neighbour's replay: %v", n)
	}
}

// TestLetterTwoNodes: a node started on the same store schedules the open
// letters it finds (Start); when the limit passes, both nodes' jobs run
// and the step is taken once: one history entry, one notice, one SMS.
func TestLetterTwoNodes(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, letterPolicy, func(c *Config) { c.Sender = snd })
	_, resTok := e.member(storage.RoleResident, 0, inside)
	cadre, _ := e.member(storage.RoleCadre, 0, inside)
	id := e.writeLetter(resTok, "village")["id"].(string)

	var cfg Config
	letterPolicy(&cfg)
	s2, err := New(t.Context(), Config{Store: e.store, Logger: testLogger(t), Clock: e.now, PingInterval: time.Minute,
		Sender: snd, Policy: cfg.Policy})
	if err != nil {
		t.Fatalf("second node: %v", err)
	}
	t.Cleanup(func() { _ = s2.Shutdown(t.Context()) })
	if n := s2.sched.Pending(); n != 1 {
		t.Fatalf("%d jobs pending on the second node, want 1 (the open letter)", n)
	}
	e.advance(time.Minute)
	s2.sched.Wake()
	waitFor(t, "overdue", func() bool { _, l := e.letter(resTok, id); return l["overdue"] == true })
	e.advance(30 * time.Second)
	s2.sched.Wake()
	waitFor(t, "the SMS", func() bool { return len(snd.to(cadre.Phone)) >= 1 })
	time.Sleep(500 * time.Millisecond)
	if n := len(snd.to(cadre.Phone)); n != 1 {
		t.Errorf("%d SMS to the cadre, want 1", n)
	}
	// Whichever node took the step, the cadre's log holds one notice.
	evs, err := e.store.EventsSince(t.Context(), storage.Audience{MemberID: cadre.ID, Role: storage.RoleCadre, VillageID: cadre.VillageID}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	notices := 0
	for _, ev := range evs {
		if ev.Type == storage.EventNotice {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d notices to the cadre, want 1", notices)
	}
	_, l := e.letter(resTok, id)
	if k := threadKinds(l); !slices.Equal(k, []string{"letter", "overdue"}) {
		t.Errorf("history %v, want the overdue step once", k)
	}
}
