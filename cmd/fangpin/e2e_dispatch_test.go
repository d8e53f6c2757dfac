package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

func (e *e2e) dispatch(t *testing.T) {
	s, sim, ctx, triple := e.s, e.sim, e.ctx, e.triple
	// 2. The office types 交办.
	if _, err := sim.SayPrivately(ctx, "zhaoliu", "交办"); err != nil {
		t.Fatal(err)
	}
	summary := replyWith(t, ctx, sim, "zhaoliu", 0, "批次")
	all, err := s.DB.ListCases(ctx, postgres.CaseFilter{})
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

	// Each township group gets its list, @ its cadres; each cadre the details and a card.
	waitFor(t, ctx, sim, "group lists", func() bool {
		for town := range perTown {
			if len(groupMessages(sim, town)) == 0 {
				return false
			}
		}
		return true
	})
	for town, cs := range perTown {
		msgs := groupMessages(sim, town)
		text := ""
		for _, m := range msgs {
			text += m.Content + "\n"
		}
		for _, c := range cs {
			if !strings.Contains(text, c.No) {
				t.Errorf("%s's group list lacks %s:\n%s", town, c.No, text)
			}
		}
		if !strings.Contains(text, "新交办") {
			t.Errorf("%s's group list: %s", town, text)
		}
		for _, cadre := range e2eCadres[town] {
			if !mentions(msgs, cadre) {
				t.Errorf("%s's group list does not @ %s: %q", town, cadre, msgs[0].Content)
			}
		}
	}
	waitFor(t, ctx, sim, "private details and cards", func() bool {
		for town, cs := range perTown {
			for _, cadre := range e2eCadres[town] {
				for _, c := range cs {
					if privateDetails(sim, cadre, c.No) == "" || cardOf(sim, cadre, c.No) == nil {
						return false
					}
				}
			}
		}
		return true
	})
	routed := 0
	for _, c := range all {
		handlers := e2eCadres[c.Township]
		if c.Department != "" {
			routed++
			handlers = append(append([]string{}, handlers...), e2eLiaisons[c.Department])
		}
		for _, u := range handlers {
			waitFor(t, ctx, sim, "details and card for "+u, func() bool { return privateDetails(sim, u, c.No) != "" && cardOf(sim, u, c.No) != nil })
			if d := privateDetails(sim, u, c.No); !strings.Contains(d, c.HeadName) || !strings.Contains(d, c.HeadIDNumber) {
				t.Errorf("%s's private message on %s lacks the head's name and ID:\n%s", u, c.No, d)
			}
		}
	}
	if routed == 0 {
		t.Errorf("no assurance case was routed to its 责任部门")
	}
	e.all, e.perTown, e.tc = all, perTown, tc
}
