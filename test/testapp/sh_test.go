package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		script  string
		want    []step
		wantErr string
	}{
		{script: "", want: nil},
		{script: "  \n\t ", want: nil},
		{script: "echo hi", want: []step{{args: []string{"echo", "hi"}}}},
		{script: "echo  a\tb ", want: []step{{args: []string{"echo", "a", "b"}}}},
		{script: "echo a;echo b", want: []step{{args: []string{"echo", "a"}}, {args: []string{"echo", "b"}}}},
		{script: "echo a; echo b;", want: []step{{args: []string{"echo", "a"}}, {args: []string{"echo", "b"}}}},
		{script: "a&&b && c", want: []step{{args: []string{"a"}}, {args: []string{"b"}, and: true}, {args: []string{"c"}, and: true}}},
		{script: "a &&\n  b", want: []step{{args: []string{"a"}}, {args: []string{"b"}, and: true}}},
		{script: "a\n\nb", want: []step{{args: []string{"a"}}, {args: []string{"b"}}}},
		{script: "a && b; c", want: []step{{args: []string{"a"}}, {args: []string{"b"}, and: true}, {args: []string{"c"}}}},
		{script: `echo 'a ; && b' "c 'd'"`, want: []step{{args: []string{"echo", "a ; && b", "c 'd'"}}}},
		{script: `echo '' ""`, want: []step{{args: []string{"echo", "", ""}}}},
		{script: `echo x'y'"z"`, want: []step{{args: []string{"echo", "xyz"}}}},
		{script: `echo a\ b \; \&`, want: []step{{args: []string{"echo", "a b", ";", "&"}}}},
		{script: `echo "\"\\\$\a"`, want: []step{{args: []string{"echo", `"\$\a`}}}},
		{script: "echo a \\\n b", want: []step{{args: []string{"echo", "a", "b"}}}},
		{script: "echo a#b * ~ ?", want: []step{{args: []string{"echo", "a#b", "*", "~", "?"}}}},
		{script: "echo é ü", want: []step{{args: []string{"echo", "é", "ü"}}}},

		{script: "; echo", wantErr: "syntax error"},
		{script: "echo;;", wantErr: "syntax error"},
		{script: "&& echo", wantErr: "syntax error"},
		{script: "echo &&", wantErr: "syntax error"},
		{script: "echo a\n&& echo b", wantErr: "syntax error"},
		{script: "echo 'a", wantErr: "unterminated '"},
		{script: `echo "a`, wantErr: `unterminated "`},
		{script: `echo a\`, wantErr: "syntax error"},
		{script: "echo $HOME", wantErr: "not supported"},
		{script: `echo "$HOME"`, wantErr: "not supported"},
		{script: "echo `id`", wantErr: "not supported"},
		{script: "echo a | cat", wantErr: "pipes"},
		{script: "false || echo", wantErr: "pipes and ||"},
		{script: "echo a > f", wantErr: "redirections"},
		{script: "cat < f", wantErr: "redirections"},
		{script: "sleep 1 &", wantErr: "background"},
		{script: "(echo a)", wantErr: "subshells"},
		{script: "echo a # note", wantErr: "comments"},
	}
	for _, tt := range tests {
		got, err := parseScript(tt.script)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseScript(%q) = %v, %v; want an error containing %q", tt.script, got, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("parseScript(%q): %v", tt.script, err)
		case !reflect.DeepEqual(got, tt.want):
			t.Errorf("parseScript(%q) = %#v; want %#v", tt.script, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "3", want: 3 * time.Second},
		{in: "0.25", want: 250 * time.Millisecond},
		{in: "1.5s", want: 1500 * time.Millisecond},
		{in: "2m", want: 2 * time.Minute},
		{in: "-1", wantErr: true},
		{in: "-1s", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "Inf", wantErr: true},
		{in: "soon", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
