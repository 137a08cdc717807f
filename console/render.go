package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"
)

// page is what every template gets.
type page struct {
	Title string
	// Nav names the navigation entry to mark as current.
	Nav  string
	Base string
	Who  string
	CSRF string
	// Flash is a message left by the previous request (an action's
	// outcome).
	Flash string
	Live  bool
	Data  any
}

// pageTemplate is one page parsed with the layout.
type pageTemplate = *template.Template

// pageNames are the pages, each templates/<name>.html defining "main".
var pageNames = []string{"login", "error", "machines", "machine", "pools", "leases", "groups", "profiles", "activity"}

var funcs = template.FuncMap{
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"hms":  func(t time.Time) string { return t.UTC().Format("15:04:05") },
	// times is how many requests an event of n repeats stands for.
	"times": func(n int) int { return n + 1 },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"statusClass": func(code int) string {
		switch {
		case code >= 500:
			return "bad"
		case code >= 400:
			return "warn"
		}
		return "ok"
	},
	"labels": func(m map[string]string) []string {
		out := make([]string, 0, len(m))
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		sort.Strings(out)
		return out
	},
	"join": strings.Join,
}

func parsePages() (map[string]pageTemplate, error) {
	pages := map[string]pageTemplate{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render executes a page into a buffer first, so a template error is a
// clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	p.Base = c.cfg.Prefix
	if ses := sessionFrom(r.Context()); ses.id != "" {
		p.Who, p.CSRF, p.Flash = ses.who, ses.csrf, ses.flash
	}
	p.Live = p.Live && c.cfg.Hub != nil
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.log.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// errorPage answers code with a page saying msg.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	c.render(w, r, code, "error", page{Title: http.StatusText(code), Data: struct {
		Code int
		Msg  string
	}{code, msg}})
}
