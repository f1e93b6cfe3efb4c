package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// The outside judges come from package.json, installed by
// "make browser-deps" into node_modules beside this file.
const (
	axePath = "node_modules/axe-core/axe.min.js"
	vnuPath = "node_modules/vnu-jar/build/dist/vnu.jar"
)

var axeScript struct {
	once sync.Once
	src  string
	err  error
}

// axeViolation is what the tests read of one axe-core violation.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun runs axe-core on the page for the WCAG 2.0 and 2.1 A and AA rules
// and returns the violations in a form easy to print.
const axeRun = `axe.run(document, {
  runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  resultTypes: ["violations"]
}).then(function (r) {
  return r.violations.map(function (v) {
    return {id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(function (n) {
      return n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " ");
    })};
  });
})`

// checkAccessibility runs axe-core in the page and fails the test for
// every serious or critical violation; lesser ones are logged.
func (tb *tab) checkAccessibility(page string) {
	tb.t.Helper()
	axeScript.once.Do(func() {
		b, err := os.ReadFile(axePath)
		axeScript.src, axeScript.err = string(b), err
	})
	if axeScript.err != nil {
		unavailable(tb.t, "axe-core", axeScript.err)
	}
	if !eval[bool](tb, `typeof window.axe === "object"`) {
		eval[chromedp.Void](tb, axeScript.src)
	}
	violations := run(tb, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	for _, v := range violations {
		msg := fmt.Sprintf("%s, %s: axe %s (%s): %s\n\t%s", tb.name, page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Error(msg)
		} else {
			tb.t.Log(msg)
		}
	}
}

// smallTargets lists the controls smaller than 24×24 CSS pixels (WCAG 2.2
// target size), leaving out links inside message text, which are inline
// in a sentence.
const smallTargets = `(function () {
  var bad = [];
  var els = document.querySelectorAll("a[href], button, input:not([type=hidden]), textarea, select, summary, [tabindex]");
  for (var i = 0; i < els.length; i++) {
    var el = els[i], r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (el.closest(".body")) continue;
    if (r.width < 24 || r.height < 24) {
      bad.push(el.outerHTML.slice(0, 80) + " is " + Math.round(r.width) + "×" + Math.round(r.height));
    }
  }
  return bad;
})()`

// checkTargets fails the test for every control smaller than 24×24.
func (tb *tab) checkTargets(page string) {
	tb.t.Helper()
	for _, s := range eval[[]string](tb, smallTargets) {
		tb.t.Errorf("%s, %s: touch target under 24×24 px: %s", tb.name, page, s)
	}
}

// judge runs every in-browser judge on the page shown.
func (tb *tab) judge(page string) {
	tb.t.Helper()
	tb.checkAccessibility(page)
	tb.checkTargets(page)
}

// vnuMessage is one message of the Nu Html Checker's JSON output.
type vnuMessage struct {
	Type     string `json:"type"`
	SubType  string `json:"subType"`
	URL      string `json:"url"`
	LastLine int    `json:"lastLine"`
	Message  string `json:"message"`
	Extract  string `json:"extract"`
}

// checkMarkup runs the Nu Html Checker over served pages (name → HTML) and
// fails the test for every error.
func checkMarkup(t *testing.T, pages map[string]string) {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		unavailable(t, "java", err)
	}
	if _, err := os.Stat(vnuPath); err != nil {
		unavailable(t, "vnu-jar", err)
	}
	dir := t.TempDir()
	var files []string
	for name, html := range pages {
		f := filepath.Join(dir, name+".html")
		if err := os.WriteFile(f, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	args := append([]string{"-jar", vnuPath, "--errors-only", "--format", "json", "--stdout"}, files...)
	out, err := exec.Command(java, args...).Output()
	var res struct {
		Messages []vnuMessage `json:"messages"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("vnu: %v; output %q: %v", err, out, jerr)
	}
	for _, m := range res.Messages {
		t.Errorf("vnu %s in %s line %d: %s\n\t%s", m.Type, filepath.Base(m.URL), m.LastLine, m.Message, m.Extract)
	}
	if len(res.Messages) == 0 && err != nil {
		t.Fatalf("vnu failed with no message: %v", err)
	}
}
