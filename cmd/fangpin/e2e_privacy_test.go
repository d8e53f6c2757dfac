package main

import (
	"regexp"
	"strings"
	"testing"
)

func (e *e2e) privacy(t *testing.T) {
	sim, seen, perTown, serverLog, strayLog := e.sim, e.seen, e.perTown, e.serverLog, e.strayLog
	// 4. Privacy: nothing in any group chat that a neighbour should not read.
	idRe := regexp.MustCompile(`\d{17}[\dXx]`)
	moneyRe := regexp.MustCompile(`\d+(\.\d+)?\s*元`)
	var groupTexts int
	for _, m := range sim.Sent() {
		inGroup := m.API == "appchat/send" || m.API == "webhook/send" || (m.API == "aibot/response" && m.ChatID != "")
		if !inGroup {
			continue
		}
		groupTexts++
		text := textOf(m)
		if id := idRe.FindString(text); id != "" {
			t.Errorf("ID number %s in a group message: %s", id, m.Content)
		}
		if strings.Contains(text, "/form/") {
			t.Errorf("a signed form link in a group message: %s", m.Content)
		}
		if amt := moneyRe.FindString(text); amt != "" {
			t.Errorf("amount %q in a group message: %s", amt, m.Content)
		}
		for name := range seen.names {
			if strings.Contains(text, name) {
				t.Errorf("full name %s in a group message: %s", name, m.Content)
			}
		}
		for d := range seen.diseases {
			if strings.Contains(text, d) {
				t.Errorf("%q from a department file in a group message: %s", d, m.Content)
			}
		}
		for amt := range seen.amounts {
			if strings.Contains(text, amt) {
				t.Errorf("amount %s from a department file in a group message: %s", amt, m.Content)
			}
		}
	}
	if groupTexts < len(perTown)+1 {
		t.Errorf("only %d group messages scanned", groupTexts)
	}
	if stray := strayLog.String(); stray != "" {
		t.Errorf("log lines that bypass the server's logger:\n%s", stray)
	}
	if id := idRe.FindString(serverLog.String()); id != "" {
		t.Errorf("ID number %s in the server's log", id)
	}
	for d := range seen.diseases {
		if strings.Contains(serverLog.String(), d) {
			t.Errorf("%q from a department file in the server's log", d)
		}
	}
	if d := sim.Dropped(); len(d) > 0 {
		t.Errorf("%d messages over WeCom's limits were dropped", len(d))
	}
}
