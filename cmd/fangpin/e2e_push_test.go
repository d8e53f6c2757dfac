package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/synth"
)

// pushed is what the test remembers of the department files, for the privacy scan.
type pushed struct {
	names    map[string]bool // every full name in the files and the registry
	diseases map[string]bool // 病种 values and 问题描述 texts
	amounts  map[string]bool // every non-trivial money amount in the files
}

func (p *pushed) rows(cat cases.Category, rows []synth.DeptRow) {
	header := synth.DeptHeader(cat)
	for _, r := range rows {
		for i, h := range header {
			v := strings.TrimSpace(r.Cells[i])
			switch {
			case v == "":
			case h == intake.ColName:
				p.names[v] = true
			case h == "病种" || h == "问题描述":
				p.diseases[v] = true
			case intake.ColumnKind(cat, h) == "money":
				v = strings.TrimPrefix(v, "-")
				if len(v) >= 4 && v != "0.00" {
					p.amounts[v] = true
				}
			}
		}
	}
}

// reportsBad checks that every bad row is reported by its row number (first data row is
// first+0).
func reportsBad(t *testing.T, what string, a batchAnswer, rows []synth.DeptRow, first int) {
	t.Helper()
	reported := map[int]bool{}
	for _, e := range a.Errors {
		reported[e.Row] = true
	}
	bad := 0
	for i, r := range rows {
		if r.Kind == "bad" {
			bad++
			if !reported[first+i] {
				t.Errorf("%s: bad row %d (%q) not reported: %+v", what, first+i, r.Cells, a.Errors)
			}
		}
	}
	if bad == 0 || len(a.Errors) != bad {
		t.Errorf("%s: %d errors for %d bad rows: %+v", what, len(a.Errors), bad, a.Errors)
	}
}

func (e *e2e) pushFiles(t *testing.T) {
	base, g, others, triple, seen := e.base, e.g, e.others, e.triple, e.seen
	handRow := func(cat cases.Category, m cases.RegistryMember, fields map[string]string) synth.DeptRow {
		rec := map[string]string{intake.ColName: m.Name, intake.ColID: m.IDNumber, intake.ColTownship: m.Township,
			intake.ColVillage: m.Village}
		for k, v := range fields {
			rec[k] = v
		}
		h := synth.DeptHeader(cat)
		cells := make([]string, len(h))
		for i, c := range h {
			cells[i] = rec[c]
		}
		return synth.DeptRow{Cells: cells, Kind: "warn"}
	}
	gen := func(cat cases.Category, warn, bad int) []synth.DeptRow {
		var rows []synth.DeptRow
		err := g.DeptRows(synth.DeptSpec{Category: cat, Warn: warn, Bad: bad, Members: others, Month: cases.NewDate(2026, 11, 1)},
			func(r synth.DeptRow) error { rows = append(rows, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}

	// 1. Department files through the push API.
	// 医保局: medical, GBK CSV as Excel writes it.
	med := append(gen(cases.CatMedical, 3, 2), handRow(cases.CatMedical, triple[0],
		map[string]string{"住院自付累计": "26888.50", "门诊统筹费用": "0", "门特费用": "0"}))
	seen.rows(cases.CatMedical, med)
	var csvGBK bytes.Buffer
	if err := synth.WriteRowsCSV(&csvGBK, cases.CatMedical, med, true); err != nil {
		t.Fatal(err)
	}
	a := pushMultipart(t, base, "demo-token-ybj", cases.CatMedical, "医保局11月.csv", csvGBK.Bytes())
	if a.Department != "医保局" || a.Rows != len(med) || len(a.Errors) == 0 || a.Rejected == 0 || a.Warnings < 1 {
		t.Fatalf("medical push: %+v", a)
	}
	reportsBad(t, "medical", a, med, 2)
	// 住建局: assurance, XLSX.
	asr := append(gen(cases.CatAssurance, 2, 1), handRow(cases.CatAssurance, triple[1],
		map[string]string{"问题类型": "住房安全", "问题描述": "住房出现安全隐患", "责任部门": "住建局"}))
	seen.rows(cases.CatAssurance, asr)
	var xlsx bytes.Buffer
	if err := synth.WriteRowsXLSX(&xlsx, cases.CatAssurance, asr); err != nil {
		t.Fatal(err)
	}
	a = pushMultipart(t, base, "demo-token-zjj", cases.CatAssurance, "住建局排查.xlsx", xlsx.Bytes())
	if a.Department != "住建局" || a.Rows != len(asr) || len(a.Errors) == 0 || a.Warnings != len(asr)-len(a.Errors) {
		t.Fatalf("assurance push: %+v", a)
	}
	reportsBad(t, "assurance", a, asr, 2)
	// 人社局: employment, JSON records.
	emp := append(gen(cases.CatEmployment, 2, 1), handRow(cases.CatEmployment, triple[2], map[string]string{"类型": "零就业家庭"}))
	seen.rows(cases.CatEmployment, emp)
	var records []map[string]string
	for _, row := range emp {
		rec := map[string]string{}
		for i, h := range synth.DeptHeader(cases.CatEmployment) {
			rec[h] = row.Cells[i]
		}
		records = append(records, rec)
	}
	js, _ := json.Marshal(map[string]any{"category": "employment", "period": "2026-11", "records": records})
	a = pushRequest(t, base, "demo-token-rsj", "application/json", bytes.NewReader(js))
	if a.Department != "人社局" || a.Rows != len(emp) || len(a.Errors) == 0 || a.Warnings != len(emp)-len(a.Errors) {
		t.Fatalf("employment push: %+v", a)
	}
	reportsBad(t, "employment", a, emp, 1)
	// 卫健委: serious illness (diseases the groups must never see), UTF-8 CSV.
	ill := gen(cases.CatSeriousIllness, 2, 0)
	seen.rows(cases.CatSeriousIllness, ill)
	var csvUTF8 bytes.Buffer
	if err := synth.WriteRowsCSV(&csvUTF8, cases.CatSeriousIllness, ill, false); err != nil {
		t.Fatal(err)
	}
	pushMultipart(t, base, "demo-token-wjw", cases.CatSeriousIllness, "大病.csv", csvUTF8.Bytes())
	e.csvGBK = csvGBK.Bytes()
}
