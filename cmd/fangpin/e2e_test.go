package main

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

// The example county's cadres by township and how each township group is reached
// (examples/org.yaml).
var (
	e2eCadres = map[string][]string{
		"城关镇": {"lisi", "zhangsan"}, "河口乡": {"qianyi", "zhouer"}, "青山镇": {"wusan", "zhengsi"},
		"石桥乡": {"chenliu", "fengwu"}, "柳林镇": {"chuqi", "weiba"}, "白沙乡": {"jiangjiu", "shenshi"},
	}
	e2eNames = map[string]string{"zhangsan": "张三", "lisi": "李四", "qianyi": "钱一", "zhouer": "周二", "wusan": "吴三",
		"zhengsi": "郑四", "fengwu": "冯五", "chenliu": "陈六", "chuqi": "褚七", "weiba": "卫八", "jiangjiu": "蒋九", "shenshi": "沈十"}
	e2eLiaisons = map[string]string{"医保局": "wangwu", "卫健委": "liaison_wjw", "教体局": "liaison_jtj", "住建局": "liaison_zjj",
		"水利局": "liaison_slj", "民政局": "liaison_mzj"}
	e2eAppChats = map[string]string{"城关镇": "wrCG0001", "青山镇": "wrQS0003", "柳林镇": "wrLL0005", "白沙乡": "wrBS0006"}
	e2eWebhooks = map[string]string{"河口乡": "demo-hekou-key", "石桥乡": "demo-shiqiao-key"}
)

// e2e is what the steps of the end-to-end test share: the server, the simulator, and what
// each step leaves for the next.
type e2e struct {
	s                   *Server
	sim                 *wecomtest.Server
	base                string
	ctx                 context.Context
	serverLog, strayLog *syncBuffer

	g       *synth.Gen             // the generator of the registry and the files
	members []cases.RegistryMember // the registry
	seen    *pushed                // what the department files said, for the privacy scan
	triple  []cases.RegistryMember // the household three departments warn about
	others  []cases.RegistryMember // everyone else
	csvGBK  []byte                 // 医保局's file

	all     []cases.Case            // the cases of the first 交办
	perTown map[string][]cases.Case // … by township
	tc      cases.Case              // the triple household's case

	byCommand, byCard, byForm cases.Case // 城关镇's cases answered three ways
	cadre                     string     // who answered them
}

// step runs one step as a subtest. A step that stops (t.Fatal) stops the test; one that
// only reports errors lets the next steps run, as when the test was one function.
func (e *e2e) step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	finished := false
	t.Run(name, func(t *testing.T) { f(t); finished = true })
	if !finished {
		t.FailNow()
	}
}

func TestEndToEndFromDepartmentFilesToClosedCases(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "e2e-form-secret")
	// Every log line goes through the server's logger, which redacts ID numbers; nothing
	// may reach the process's default logger.
	var serverLog, strayLog syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&strayLog, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	s, sim, base, _ := startServerLogging(t, bot.NewLogger(&serverLog, slog.LevelDebug))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := time.Now()
	e := &e2e{s: s, sim: sim, base: base, ctx: ctx, serverLog: &serverLog, strayLog: &strayLog}

	e.step(t, "0 township groups and the registry", e.county)
	e.step(t, "1 department files through the push API", e.pushFiles)
	e.step(t, "2 the office types 交办", e.dispatch)
	e.step(t, "3 three cases of 城关镇 answered three ways", e.answers)
	e.step(t, "questions in a township group and 导出", e.questions)
	e.step(t, "the same file again, 补充预警, the form by OAuth", e.again)
	e.step(t, "4 privacy", e.privacy)
	all, perTown := e.all, e.perTown
	t.Logf("%d cases in %d townships, %d messages, %v", len(all), len(perTown), len(sim.Sent()), time.Since(started))
}

func (e *e2e) county(t *testing.T) {
	s, ctx := e.s, e.ctx
	// The township groups the app created.
	for town, chat := range e2eAppChats {
		if _, err := s.API.CreateAppChat(ctx, bot.AppChat{Name: town + "防返贫工作群", Owner: e2eCadres[town][0],
			UserList: append([]string{"zhaoliu"}, e2eCadres[town]...), ChatID: chat}); err != nil {
			t.Fatal(err)
		}
	}

	// The registry.
	g := synth.New(20261128)
	members := g.Registry(44, synth.Townships)
	var reg bytes.Buffer
	if err := synth.WriteRegistryCSV(&reg, members); err != nil {
		t.Fatal(err)
	}
	towns, err := s.DB.TownshipNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sheet.New(bytes.NewReader(reg.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := registry.Import(ctx, r, towns, s.DB); err != nil || sum.Rejected != 0 {
		t.Fatalf("registry import: %+v %v", sum, err)
	}
	r.Close()
	seen := &pushed{names: map[string]bool{}, diseases: map[string]bool{}, amounts: map[string]bool{}}
	for _, m := range members {
		seen.names[m.Name] = true
	}

	// The household three departments warn about: one in 城关镇 with three members.
	byHousehold := map[string][]cases.RegistryMember{}
	for _, m := range members {
		byHousehold[m.HouseholdNo] = append(byHousehold[m.HouseholdNo], m)
	}
	var triple []cases.RegistryMember
	var hnos []string
	for hno := range byHousehold {
		hnos = append(hnos, hno)
	}
	sort.Strings(hnos)
	for _, hno := range hnos {
		// 建档立卡 (脱贫户 or 脱贫不稳定户): 人社局 warns only for those (docs/rules.md).
		if ms := byHousehold[hno]; len(ms) >= 3 && ms[0].Township == "城关镇" && cases.Registered(ms[0].Kind) {
			triple = ms
			break
		}
	}
	if triple == nil {
		t.Fatal("the synthetic registry has no 建档立卡 城关镇 household of three; change the seed")
	}
	// Generated rows must not touch the triple household, or it would be warned by more.
	var others []cases.RegistryMember
	for _, m := range members {
		if m.HouseholdNo != triple[0].HouseholdNo {
			others = append(others, m)
		}
	}
	e.g, e.members, e.seen, e.triple, e.others = g, members, seen, triple, others
}
