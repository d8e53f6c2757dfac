package main

import (
	"encoding/json"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"slices"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
)

func (e *e2e) dispatch(t *testing.T) {
	s, sim, ctx, triple := e.s, e.sim, e.ctx, e.triple
	// 2. The office types 交办.
	if _, err := sim.SayPrivately(ctx, "zhaoliu", "交办"); err != nil {
		t.Fatal(err)
	}
	summary := replyWith(t, ctx, sim, "zhaoliu", 0, "批次")
	all, err := s.DB.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatalf("交办 made no cases: %s", summary)
	}
	perTown := map[string][]cases.Case{}
	for _, c := range all {
		perTown[c.Township] = append(perTown[c.Township], c)
	}
	if !strings.Contains(summary, fmt.Sprintf("新建案件 %d 件", len(all))) {
		t.Errorf("交办 reply lacks the count of %d cases:\n%s", len(all), summary)
	}
	for town, cs := range perTown {
		if !strings.Contains(summary, fmt.Sprintf("• %s：%d 件", town, len(cs))) {
			t.Errorf("交办 reply lacks %s's %d cases:\n%s", town, len(cs), summary)
		}
	}
	var tripleCases []cases.Case
	for _, c := range all {
		if c.HouseholdNo == triple[0].HouseholdNo {
			tripleCases = append(tripleCases, c)
		}
	}
	if len(tripleCases) != 1 {
		t.Fatalf("the household warned by three departments has %d cases, want 1: %+v", len(tripleCases), tripleCases)
	}
	tc := tripleCases[0]
	for _, cat := range []cases.Category{cases.CatMedical, cases.CatAssurance, cases.CatEmployment} {
		if !hasCategory(tc.Categories, cat) {
			t.Errorf("case %s lacks %s: %v", tc.No, cat, tc.Categories)
		}
	}

	var appchatTowns, webhookTowns int
	for town := range perTown {
		if e2eAppChats[town] != "" {
			appchatTowns++
		} else {
			webhookTowns++
		}
	}
	if appchatTowns == 0 || webhookTowns == 0 {
		t.Fatalf("cases in %d app-created groups and %d robot groups; the test needs both (change the seed)", appchatTowns, webhookTowns)
	}

	// Each township group gets one summary (counts, no names), @ the responsible cadres;
	// each case's responsible cadre a summary with the task list and, with so few cases, a
	// card per case carrying the details.
	waitFor(t, ctx, sim, "group summaries", func() bool {
		for town := range perTown {
			if len(groupMessages(sim, town)) == 0 {
				return false
			}
		}
		return true
	})
	for town, cs := range perTown {
		msgs := groupMessages(sim, town)
		if len(msgs) != 1 {
			t.Errorf("%s's group got %d messages for the round, want one summary", town, len(msgs))
		}
		if text := msgs[0].Content; !strings.Contains(text, fmt.Sprintf("新交办 %d 户", len(cs))) || !strings.Contains(text, "/tasks/?township=") {
			t.Errorf("%s's group summary: %s", town, text)
		}
		for _, c := range cs {
			if c.Responsible == "" || !slices.Contains(e2eCadres[town], c.Responsible) {
				t.Errorf("case %s of %s has responsible %q", c.No, town, c.Responsible)
			}
			if !mentions(msgs, c.Responsible) {
				t.Errorf("%s's group summary does not @ %s: %q", town, c.Responsible, msgs[0].Content)
			}
		}
	}
	routed := 0
	for _, c := range all {
		who := []string{c.Responsible} // a routed case's liaison hears of it as a department task
		if c.Department != "" {
			routed++
		}
		for _, u := range who {
			waitFor(t, ctx, sim, "summary and card for "+u, func() bool { return roundSummary(sim, u) != "" && cardOf(sim, u, c.No) != nil })
			// pushed: the name and the masked ID number, the full one only on request (docs/privacy.md)
			if d, _ := json.Marshal(cardOf(sim, u, c.No)); !strings.Contains(string(d), c.HeadName) ||
				!strings.Contains(string(d), cases.MaskIDNumber(c.HeadIDNumber)) || strings.Contains(string(d), c.HeadIDNumber) {
				t.Errorf("%s's card on %s lacks the head's name and masked ID, or has the full ID:\n%s", u, c.No, d)
			}
			if !strings.Contains(roundSummary(sim, u), "/tasks/?") {
				t.Errorf("%s's summary lacks the task list: %s", u, roundSummary(sim, u))
			}
		}
	}
	for _, u := range e2eCadres["城关镇"] {
		if n := len(sim.SentTo(u)); n > announce.MaxRoundPrivate {
			t.Errorf("%s got %d private messages for the round", u, n)
		}
	}
	if routed == 0 {
		t.Errorf("no assurance case was routed to its 责任部门")
	}
	e.all, e.perTown, e.tc = all, perTown, tc
}
