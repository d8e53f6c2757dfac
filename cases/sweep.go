package cases

import (
	"strings"
	"time"
	"unicode/utf8"
)

// KindSweep is a 区域排查 task (docs/registry.md): disaster or epidemic rows that name no person,
// one task per township and event, listing every village named. It is not a household: it
// is closed by 排查 … 完成, never by 核查/录入, and never counts as a 纳入.
const KindSweep Kind = "sweep"

// ActSweepDone is the audit action of a completed 区域排查.
const ActSweepDone Action = "sweep_done"

// SweepDone is what a cadre reports when a 区域排查 is finished.
type SweepDone struct {
	Found int    // 发现户数: households found (each reported with 走访 and linked to the task)
	Note  string // 说明
	Now   time.Time
}

// MinSweepNoteRunes is the shortest 说明 accepted for a finished 区域排查.
const MinSweepNoteRunes = 4

// CompleteSweep decides whether actor may close the 区域排查 c and returns it closed.
func CompleteSweep(c Case, actor Actor, d SweepDone) (Case, error) {
	if c.Kind != KindSweep {
		return c, Errorf(EInvalid, "案件 %s 不是区域排查任务，请用“核查 %s 纳入|已在监测|不纳入 <说明>”登记核查结果。", c.No, c.No)
	}
	if actor.Role != RoleCadre {
		return c, Errorf(EForbidden, "区域排查由%s的乡村干部登记完成。", c.Township)
	}
	if err := inTownship(c, actor); err != nil {
		return c, err
	}
	if !c.Status.Open() {
		return c, Errorf(EIllegal, "区域排查 %s 已经登记完成，不能重复登记。", c.No)
	}
	if d.Found < 0 {
		return c, Errorf(EInvalid, "发现户数不能是负数，例如：排查 %s 完成 2 已逐村走访", c.No)
	}
	note := strings.TrimSpace(d.Note)
	if utf8.RuneCountInString(note) < MinSweepNoteRunes {
		return c, Errorf(EInvalid, "请写明排查情况（至少 %d 个字），例如：排查 %s 完成 2 已逐村走访受灾农户", MinSweepNoteRunes, c.No)
	}
	now := d.Now
	c.Status, c.Reason, c.ClosedAt = StatusClosed, note, &now
	return c, nil
}

// sweepRefusal is the reply to 核查/录入 on a 区域排查 task.
func sweepRefusal(c Case) error {
	return Errorf(EInvalid, "%s 是区域排查任务，不是单户案件：排查完后请发送“排查 %s 完成 <发现户数> <说明>”；发现的困难户请用“走访”逐户上报。", c.No, c.No)
}

// SweepVillages lists the distinct villages of a 区域排查's warnings, in order of first mention.
func SweepVillages(ws []WarningFact) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		v := strings.TrimSpace(w.Village)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
