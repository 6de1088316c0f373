package settings

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
)

func TestParsePrecedence(t *testing.T) {
	env := map[string]string{"SLEEVE_CHECK_EXPIRY_WARNING": "2h", "SLEEVE_CHECK_TRUST_DIRS": "/a:/b", "SLEEVE_CHECK_JSON": "true"}
	inv, err := Parse([]string{"--expiry-warning", "30m", "--json=false", "--", "claude", "--flag"}, environ.FromMap(env))
	if err != nil {
		t.Fatal(err)
	}
	s := inv.Settings
	if s.ExpiryWarning != 30*time.Minute || s.JSON || !reflect.DeepEqual(s.TrustDirs, []string{"/a", "/b"}) || s.LogFormat != "console" {
		t.Fatalf("%+v", s)
	}
	if inv.Sources["ExpiryWarning"] != "flag --expiry-warning" || inv.Sources["TrustDirs"] != "env SLEEVE_CHECK_TRUST_DIRS" || inv.Sources["LogFormat"] != "default" {
		t.Fatalf("%v", inv.Sources)
	}
	if !reflect.DeepEqual(inv.Command, []string{"claude", "--flag"}) {
		t.Fatalf("%v", inv.Command)
	}
}

func TestParseReportsAllErrorsTogether(t *testing.T) {
	env := map[string]string{"SLEEVE_CHECK_EXPIRY_WARNING": "soon", "SLEEVE_CHECK_OAUTH_TOKEN_ISSUED": "last year", "SLEEVE_CHECK_APPROVE_API_KEY": "maybe"}
	_, err := Parse([]string{"--log-format=xml", "--bogus", "--trust-dirs", "rel/dir"}, environ.FromMap(env))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	all := strings.Join(append(pe.Usage, pe.Config...), "\n")
	for _, want := range []string{"unknown flag --bogus", "--log-format must be console or json", "--trust-dirs must list absolute directories",
		"SLEEVE_CHECK_EXPIRY_WARNING", "SLEEVE_CHECK_OAUTH_TOKEN_ISSUED", "SLEEVE_CHECK_APPROVE_API_KEY"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	if len(pe.Usage) != 3 || len(pe.Config) != 3 {
		t.Errorf("usage %v config %v", pe.Usage, pe.Config)
	}
}

func TestParseUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"claude"}, "put the command after --: sleeve-check [flags] -- claude"},
		{[]string{"--"}, "nothing after --"},
		{[]string{"--expiry-warning"}, "needs a value"},
	} {
		_, err := Parse(tt.args, environ.Env{})
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Error()+pe.Hint, tt.want) || len(pe.Usage) == 0 {
			t.Errorf("%v: %v (hint %q)", tt.args, err, pe.Hint)
		}
	}
	inv, err := Parse([]string{"health", "--json"}, environ.Env{})
	if err != nil || inv.Sub != "health" || !inv.Settings.JSON {
		t.Fatalf("%+v %v", inv, err)
	}
}

// The README's tables are the code's tables. UPDATE_README=1 rewrites them.
func TestReadmeHasTheTables(t *testing.T) {
	path := filepath.Join("..", "..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for marker, table := range map[string]string{"settings": Table(true), "exit-codes": outcome.FormatTable(true)} {
		open, end := "<!-- "+marker+" -->\n", "<!-- /"+marker+" -->"
		i, j := strings.Index(readme, open), strings.Index(readme, end)
		if i < 0 || j < i {
			t.Fatalf("README.md lacks the %s markers", marker)
		}
		if readme[i+len(open):j] != table {
			if os.Getenv("UPDATE_README") == "1" {
				readme = readme[:i+len(open)] + table + readme[j:]
				continue
			}
			t.Errorf("README.md's %s table is out of date; run UPDATE_README=1 go test ./entrypoint/internal/settings -run Readme", marker)
		}
	}
	if os.Getenv("UPDATE_README") == "1" {
		must(t, os.WriteFile(path, []byte(readme), 0o644))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Fields reads each setting's tag in one pass; it reads what
// reflect.StructTag.Get reads.
func TestFieldsReadTheTags(t *testing.T) {
	st := reflect.TypeOf(Settings{})
	for i, f := range Fields {
		tag := st.Field(i).Tag
		sep := tag.Get("envSeparator")
		if sep == "" {
			sep = ","
		}
		want := Field{Name: st.Field(i).Name, Env: EnvPrefix + tag.Get("env"), Flag: tag.Get("flag"), Default: tag.Get("envDefault"), Help: tag.Get("help"),
			IsBool: st.Field(i).Type.Kind() == reflect.Bool, Sep: sep, Output: tag.Get("state") == "-"}
		if f != want {
			t.Errorf("field %d: %+v, want %+v", i, f, want)
		}
	}
}
