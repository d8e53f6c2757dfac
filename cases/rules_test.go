package cases

import (
	"testing"
)

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
		ok   bool
	}{
		{"5000", 500000, true}, {"4999.99", 499999, true}, {"0.5", 50, true}, {".5", 50, true},
		{"5000.", 500000, true}, {"-12.3", -1230, true}, {"0", 0, true},
		{"", 0, false}, {".", 0, false}, {"1.234", 0, false}, {"abc", 0, false}, {"1e3", 0, false},
		{"--1", 0, false}, {"1,000", 0, false}, {"1234567890123", 0, false},
	} {
		got, err := ParseMoney(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if s := Money(-1).String(); s != "-0.01" {
		t.Errorf("Money(-1) = %s", s)
	}
	if s := Money(500000).String(); s != "5000.00" {
		t.Errorf("Money(500000) = %s", s)
	}
}

func facts(registered, inRegistry bool, figs map[Figure]string) *Facts {
	f := &Facts{Registered: registered, InRegistry: inRegistry}
	for k, v := range figs {
		m, err := ParseMoney(v)
		if err != nil {
			panic(err)
		}
		f.Set(k, m)
	}
	return f
}

// The exact edges of docs/rules.md: 超(含) is ≥, 超过 is >.
func TestRuleEdges(t *testing.T) {
	rs := DefaultRules()
	for _, tc := range []struct {
		name string
		cat  Category
		f    *Facts
		want string // first rule fired, "" for none
	}{
		{"registered inpatient 4999.99", CatMedical, facts(true, true, map[Figure]string{FigureInpatient: "4999.99", FigureOutpatient: "0"}), ""},
		{"registered inpatient 5000", CatMedical, facts(true, true, map[Figure]string{FigureInpatient: "5000", FigureOutpatient: "0"}), "medical.inpatient.registered"},
		{"other inpatient 5000", CatMedical, facts(false, false, map[Figure]string{FigureInpatient: "5000", FigureOutpatient: "0"}), ""},
		{"other inpatient 19999.99", CatMedical, facts(false, false, map[Figure]string{FigureInpatient: "19999.99", FigureOutpatient: "0"}), ""},
		{"other inpatient 20000", CatMedical, facts(false, false, map[Figure]string{FigureInpatient: "20000", FigureOutpatient: "0"}), "medical.inpatient.other"},
		{"registered inpatient 20000", CatMedical, facts(true, false, map[Figure]string{FigureInpatient: "20000"}), "medical.inpatient.registered"},
		{"outpatient 499.99", CatMedical, facts(false, false, map[Figure]string{FigureInpatient: "0", FigureOutpatient: "499.99"}), ""},
		{"outpatient 500", CatMedical, facts(false, false, map[Figure]string{FigureInpatient: "0", FigureOutpatient: "500"}), "medical.outpatient"},
		{"education 10000", CatEducation, facts(false, false, map[Figure]string{FigureSelfPaid: "10000"}), ""},
		{"education 10000.01", CatEducation, facts(false, false, map[Figure]string{FigureSelfPaid: "10000.01"}), "education.self_paid"},
		{"industry registered 10000", CatIndustry, facts(true, true, map[Figure]string{FigureLoss: "10000"}), ""},
		{"industry registered 10000.01", CatIndustry, facts(true, true, map[Figure]string{FigureLoss: "10000.01"}), "industry.loss"},
		{"industry unregistered 50000", CatIndustry, facts(false, false, map[Figure]string{FigureLoss: "50000"}), ""},
		{"serious illness", CatSeriousIllness, facts(false, false, nil), "serious_illness.new"},
		{"population outside registry", CatPopulation, facts(false, false, nil), ""},
		{"population in registry", CatPopulation, facts(false, true, nil), "population.change"},
		{"disaster carries loss", CatDisaster, facts(false, false, map[Figure]string{FigureLoss: "300"}), "disaster.affected"},
	} {
		hits := rs.Evaluate(tc.cat, tc.f)
		got := ""
		if len(hits) > 0 {
			got = hits[0].Rule
		}
		if got != tc.want {
			t.Errorf("%s: first rule %q, want %q (hits %+v)", tc.name, got, tc.want, hits)
		}
	}
}

func TestRuleHitsCarryFigure(t *testing.T) {
	hits := DefaultRules().Evaluate(CatMedical, facts(true, true, map[Figure]string{FigureInpatient: "6000", FigureOutpatient: "600.5"}))
	if len(hits) != 2 || hits[0].Amount != 600000 || hits[1].Rule != "medical.outpatient" || hits[1].Amount != 60050 {
		t.Fatalf("hits = %+v", hits)
	}
}

func TestRulesOverride(t *testing.T) {
	rs, err := DefaultRules().With(map[string]string{"medical.inpatient.registered": "6000", "education.self_paid": "8000.50"})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := rs.Rule("medical.inpatient.registered"); r.Threshold != Yuan(6000) {
		t.Fatalf("threshold %v", r.Threshold)
	}
	if r, _ := DefaultRules().Rule("medical.inpatient.registered"); r.Threshold != Yuan(5000) {
		t.Fatalf("override changed the defaults: %v", r.Threshold)
	}
	if h := rs.Evaluate(CatMedical, facts(true, true, map[Figure]string{FigureInpatient: "5999.99"})); len(h) != 0 {
		t.Fatalf("5999.99 under a 6000 threshold fired %+v", h)
	}
	if h := rs.Evaluate(CatEducation, facts(false, false, map[Figure]string{FigureSelfPaid: "8000.51"})); len(h) != 1 {
		t.Fatalf("8000.51 over 8000.50 did not fire")
	}
	for _, bad := range []map[string]string{{"nope": "1"}, {"disaster.affected": "1"}, {"medical.outpatient": "-1"}, {"medical.outpatient": "5e2"}} {
		if _, err := DefaultRules().With(bad); err == nil {
			t.Errorf("override %v accepted", bad)
		}
	}
}

func TestEveryCategoryHasARule(t *testing.T) {
	rs := DefaultRules()
	for _, c := range Categories {
		found := false
		for _, r := range rs {
			if r.Category == c {
				found = true
			}
		}
		if !found {
			t.Errorf("category %s has no rule", c)
		}
	}
}

// Scope (docs/rules.md), in the seed's words: a row outside it is out of scope, whatever its figures.
func TestScopesQuoteTheSeed(t *testing.T) {
	for _, tc := range []struct {
		seed       string // the seed's own words
		cat        Category
		value      string // the row's 学段 / 事件级别
		registered bool
		want       bool
	}{
		{"在公办高中、中职就学的非义务教育阶段学生", CatEducation, "公办高中", false, true},
		{"在公办高中、中职就学的非义务教育阶段学生", CatEducation, "中职", false, true},
		{"非义务教育阶段学生", CatEducation, "义务教育", false, false},
		{"非义务教育阶段学生", CatEducation, "初中", false, false},
		{"公办高中", CatEducation, "民办高中", true, false},
		{"重大突发公共卫生事件及以上", CatEpidemic, "重大", false, true},
		{"重大突发公共卫生事件及以上", CatEpidemic, "特别重大", false, true},
		{"重大突发公共卫生事件及以上", CatEpidemic, "较大", true, false},
		{"重大突发公共卫生事件及以上", CatEpidemic, "一般", true, false},
		{"监测建档立卡贫困户产业发展情况", CatIndustry, "", true, true},
		{"监测建档立卡贫困户产业发展情况", CatIndustry, "", false, false},
		{"监测建档立卡贫困户的劳动力", CatEmployment, "", true, true},
		{"监测建档立卡贫困户的劳动力", CatEmployment, "", false, false},
		{"农村医保参保对象", CatMedical, "", false, true},
		{"新发生特困低保、特困对象", CatAssistance, "", false, true},
	} {
		f := &Facts{Registered: tc.registered, ScopeValue: tc.value}
		if got := InScope(tc.cat, f); got != tc.want {
			t.Errorf("%s「%s」: %s %q registered=%v in scope = %v, want %v", tc.cat, tc.seed, tc.cat, tc.value, tc.registered, got, tc.want)
		}
	}
}

// 人社局 warns only for 建档立卡 people (监测建档立卡贫困户的劳动力), and the rule says so.
func TestEmploymentRuleOnlyRegistered(t *testing.T) {
	rs := DefaultRules()
	if h := rs.Evaluate(CatEmployment, facts(false, true, nil)); len(h) != 0 {
		t.Errorf("非建档立卡 employment row fired %+v", h)
	}
	if h := rs.Evaluate(CatEmployment, facts(true, true, nil)); len(h) != 1 || h[0].Rule != "employment.unstable" {
		t.Errorf("建档立卡 employment row: %+v", h)
	}
}
