package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serve runs an HTTP server until SIGTERM (or SIGINT). Endpoints, every reply
// text/plain:
//
//	/                     the host name (or --hostname-file's trimmed content)
//	/env                  the environment, sorted KEY=VALUE lines
//	/file?path=P          P's content; 404 if it does not exist
//	/write?path=P&data=D  writes D to P; replies "wrote N bytes to P"
//	/exit?code=N          replies "exiting with code N", then exits with N
//	/healthz              200 "ok", or 500 if STATE_DIR/unhealthy exists
//	/readyz               200 "ready", or 503 if STATE_DIR/unready exists
//	/resolve?name=N       N's addresses (net.DefaultResolver), one a line; 502 on failure
//	/connect?addr=H:P[&timeout=D]
//	                      dials TCP: 200 "connected", or 502 and the error
//
// A missing or invalid parameter is a 400. It prints "listening on ADDR" once
// it accepts connections (with --port 0 ADDR names the port it got).
//
// On SIGTERM it prints "SIGTERM", keeps serving for --term-delay, then stops
// accepting, finishes the requests in flight (http.Server.Shutdown), prints
// "stopped" and returns: the process exits 0. With --ignore-term it prints
// "SIGTERM ignored" and carries on (SIGKILL ends it); SIGINT always stops it.
func (a *app) serve(args []string) error {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	port := fl.Int("port", 8080, "TCP `port` to listen on; 0 picks a free one")
	bind := fl.String("bind", "", "`address` to listen on; empty is every address")
	s := &server{app: a}
	fl.StringVar(&s.hostnameFile, "hostname-file", "", "`file` whose content / replies instead of the host name")
	fl.StringVar(&s.stateDir, "state-dir", "/tmp", "`dir`ectory holding the unhealthy and unready marker files")
	var termDelay time.Duration
	fl.Func("term-delay", "keep serving this `duration` after SIGTERM before stopping", func(v string) error {
		d, err := parseDuration(v)
		termDelay = d
		return err
	})
	ignoreTerm := fl.Bool("ignore-term", false, "ignore SIGTERM")
	if err := fl.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exitCode(0) // -h: the usage is printed
	} else if err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(*bind, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 30 * time.Second}
	stopped := make(chan error, 1)
	var stopOnce sync.Once
	restore := a.setTermHandler(func(sig os.Signal) {
		if *ignoreTerm && sig == syscall.SIGTERM {
			fmt.Fprintln(a.stdout, signalName(sig)+" ignored")
			return
		}
		fmt.Fprintln(a.stdout, signalName(sig))
		stopOnce.Do(func() {
			go func() {
				time.Sleep(termDelay)
				stopped <- srv.Shutdown(context.Background())
			}()
		})
	})
	defer restore()

	fmt.Fprintf(a.stdout, "listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := <-stopped; err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	fmt.Fprintln(a.stdout, "stopped")
	return nil
}

type server struct {
	app          *app
	hostnameFile string
	stateDir     string
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", s.hostname)
	mux.HandleFunc("/env", s.env)
	mux.HandleFunc("/file", s.file)
	mux.HandleFunc("/write", s.write)
	mux.HandleFunc("/exit", s.exit)
	mux.HandleFunc("/healthz", s.marker("unhealthy", "ok", http.StatusInternalServerError))
	mux.HandleFunc("/readyz", s.marker("unready", "ready", http.StatusServiceUnavailable))
	mux.HandleFunc("/resolve", s.resolve)
	mux.HandleFunc("/connect", s.connect)
	return mux
}

// reply writes a text/plain reply.
func reply(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, format, args...)
}

// param is the query parameter name; it replies 400 and returns false if it is missing.
func param(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		reply(w, http.StatusBadRequest, "missing query parameter %q\n", name)
		return "", false
	}
	return v, true
}

func (s *server) hostname(w http.ResponseWriter, r *http.Request) {
	if s.hostnameFile != "" {
		b, err := os.ReadFile(s.hostnameFile)
		if err != nil {
			reply(w, http.StatusInternalServerError, "%v\n", err)
			return
		}
		reply(w, http.StatusOK, "%s\n", strings.TrimSpace(string(b)))
		return
	}
	h, err := os.Hostname()
	if err != nil {
		reply(w, http.StatusInternalServerError, "%v\n", err)
		return
	}
	reply(w, http.StatusOK, "%s\n", h)
}

func (s *server) env(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	a := &app{stdout: &b}
	if err := a.env(nil); err != nil {
		reply(w, http.StatusInternalServerError, "%v\n", err)
		return
	}
	reply(w, http.StatusOK, "%s", b.String())
}

func (s *server) file(w http.ResponseWriter, r *http.Request) {
	p, ok := param(w, r, "path")
	if !ok {
		return
	}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reply(w, http.StatusNotFound, "%v\n", err)
	case err != nil:
		reply(w, http.StatusInternalServerError, "%v\n", err)
	default:
		reply(w, http.StatusOK, "%s", b)
	}
}

func (s *server) write(w http.ResponseWriter, r *http.Request) {
	p, ok := param(w, r, "path")
	if !ok {
		return
	}
	data := r.URL.Query().Get("data")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		reply(w, http.StatusInternalServerError, "%v\n", err)
		return
	}
	reply(w, http.StatusOK, "wrote %d bytes to %s\n", len(data), p)
}

// exit replies, flushes the reply to the socket, and only then exits, so the
// client reads the whole reply.
func (s *server) exit(w http.ResponseWriter, r *http.Request) {
	code := 0
	if v := r.URL.Query().Get("code"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			reply(w, http.StatusBadRequest, "invalid exit code %q: want 0-255\n", v)
			return
		}
		code = n
	}
	body := fmt.Sprintf("exiting with code %d\n", code)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Connection", "close")
	reply(w, http.StatusOK, "%s", body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	fmt.Fprint(s.app.stdout, body)
	os.Exit(code)
}

// marker replies 200 and okBody unless the file name exists in the state directory.
func (s *server) marker(name, okBody string, failCode int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := filepath.Join(s.stateDir, name)
		switch _, err := os.Stat(p); {
		case err == nil:
			reply(w, failCode, "%s: %s exists\n", name, p)
		case errors.Is(err, fs.ErrNotExist):
			reply(w, http.StatusOK, "%s\n", okBody)
		default:
			reply(w, http.StatusInternalServerError, "%v\n", err)
		}
	}
}

func (s *server) resolve(w http.ResponseWriter, r *http.Request) {
	name, ok := param(w, r, "name")
	if !ok {
		return
	}
	addrs, err := lookup(r.Context(), name)
	if err != nil {
		reply(w, http.StatusBadGateway, "%v\n", err)
		return
	}
	reply(w, http.StatusOK, "%s\n", strings.Join(addrs, "\n"))
}

func (s *server) connect(w http.ResponseWriter, r *http.Request) {
	addr, ok := param(w, r, "addr")
	if !ok {
		return
	}
	timeout := defaultConnectTimeout
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			reply(w, http.StatusBadRequest, "%v\n", err)
			return
		}
		timeout = d
	}
	if err := dial(r.Context(), addr, timeout); err != nil {
		reply(w, http.StatusBadGateway, "%v\n", err)
		return
	}
	reply(w, http.StatusOK, "connected\n")
}
