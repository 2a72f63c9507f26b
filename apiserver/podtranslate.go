package apiserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/websocket"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	httpstreamspdy "k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// streamProtocolV5 is the WebSocket remote command protocol of kubectl
// 1.30+ and client-go: v4's channels, plus a signal that closes one
// (stdin's, when the client's input ends).
const streamProtocolV5 = "v5.channel.k8s.io"

// The channels of the WebSocket remote command protocols.
const (
	stdinChannel = iota
	stdoutChannel
	stderrChannel
	errorChannel
	resizeChannel
)

// streamOptions are what an exec or attach asks to stream.
type streamOptions struct {
	stdin, stdout, stderr, tty bool
}

// translateStream serves a WebSocket v5 exec or attach, as upstream's
// apiserver does (its StreamTranslatorHandler): the client's streams are
// WebSocket channels, and the apiserver runs the command at loc, the
// node's kubelet, over SPDY, which every kubelet speaks. What the command
// ends with (success, its exit code, an error) goes to the client's error
// channel as a Status.
func (rq *request) translateStream(w http.ResponseWriter, loc *url.URL, transport http.RoundTripper, o streamOptions) {
	channel := func(on bool, t wsstream.ChannelType) wsstream.ChannelType {
		if on {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		stdinChannel:  channel(o.stdin, wsstream.ReadChannel),
		stdoutChannel: channel(o.stdout, wsstream.WriteChannel),
		stderrChannel: channel(o.stderr, wsstream.WriteChannel),
		errorChannel:  wsstream.WriteChannel,
		resizeChannel: channel(o.tty, wsstream.ReadChannel),
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		streamProtocolV5: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(4 * time.Hour)
	_, streams, err := conn.Open(w, rq.r)
	if err != nil {
		// Open answered the client already.
		rq.s.logf("pod %s/%s: opening the WebSocket streams: %v", rq.namespace, rq.name, err)
		return
	}
	defer conn.Close()
	// An empty message on the first writable channel tells the client the
	// streams are open.
	switch {
	case o.stdout:
		_, _ = streams[stdoutChannel].Write(nil)
	case o.stderr:
		_, _ = streams[stderrChannel].Write(nil)
	default:
		_, _ = streams[errorChannel].Write(nil)
	}
	status := func(st metav1.Status) {
		st.APIVersion, st.Kind = "v1", "Status"
		b, err := json.Marshal(st)
		if err == nil {
			_, _ = streams[errorChannel].Write(b)
		}
	}

	rt, err := httpstreamspdy.NewRoundTripperWithConfig(httpstreamspdy.RoundTripperConfig{UpgradeTransport: transport, PingPeriod: 5 * time.Second})
	if err == nil {
		var exec remotecommand.Executor
		if exec, err = remotecommand.NewSPDYExecutorRejectRedirects(rt, rt, http.MethodPost, loc); err == nil {
			opts := remotecommand.StreamOptions{Tty: o.tty}
			if o.stdin {
				opts.Stdin = streams[stdinChannel]
			}
			if o.stdout {
				opts.Stdout = streams[stdoutChannel]
			}
			if o.stderr {
				opts.Stderr = streams[stderrChannel]
			}
			if o.tty {
				opts.TerminalSizeQueue = &resizeQueue{d: json.NewDecoder(streams[resizeChannel])}
			}
			err = exec.StreamWithContext(rq.ctx(), opts)
		}
	}
	var statusErr *apierrors.StatusError
	var exitErr utilexec.ExitError
	switch {
	case err == nil:
		status(metav1.Status{Status: metav1.StatusSuccess})
	case errors.As(err, &exitErr) && exitErr.Exited():
		status(metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", exitErr),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: fmt.Sprint(exitErr.ExitStatus())}}},
		})
	case errors.As(err, &statusErr):
		status(statusErr.ErrStatus)
	default:
		status(apierrors.NewInternalError(err).ErrStatus)
	}
}

// resizeQueue reads the terminal sizes the client sends on the resize
// channel, JSON objects one after another.
type resizeQueue struct{ d *json.Decoder }

func (q *resizeQueue) Next() *remotecommand.TerminalSize {
	var size remotecommand.TerminalSize
	if err := q.d.Decode(&size); err != nil {
		return nil // the stream ended (or holds garbage): no more sizes
	}
	return &size
}

// tunnelPortForward serves a port-forward whose client tunnels SPDY
// through a WebSocket (kubectl 1.31+: subprotocol
// SPDY/3.1+portforward.k8s.io), as upstream's apiserver does: the
// WebSocket's binary messages carry the client's SPDY connection, which
// the apiserver relays, byte for byte, to a SPDY upgrade of the kubelet's
// /portForward at loc.
func (rq *request) tunnelPortForward(w http.ResponseWriter, loc *url.URL, transport http.RoundTripper) {
	upgrade, err := http.NewRequestWithContext(rq.ctx(), http.MethodPost, loc.String(), nil)
	if err != nil {
		rq.fail(apierrors.NewInternalError(err))
		return
	}
	upgrade.Header.Set("Connection", "Upgrade")
	upgrade.Header.Set("Upgrade", "SPDY/3.1")
	upgrade.Header.Set("X-Stream-Protocol-Version", portForwardProtocol)
	rt, err := httpstreamspdy.NewRoundTripperWithConfig(httpstreamspdy.RoundTripperConfig{UpgradeTransport: transport})
	if err != nil {
		rq.fail(apierrors.NewInternalError(err))
		return
	}
	kubelet, err := rt.Dial(upgrade)
	if err != nil {
		rq.fail(apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet of pod %s: %v", rq.name, err)))
		return
	}
	defer kubelet.Close()
	br := bufio.NewReader(kubelet)
	resp, err := http.ReadResponse(br, upgrade)
	if err != nil {
		rq.fail(apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet of pod %s: %v", rq.name, err)))
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		rq.fail(apierrors.NewServiceUnavailable(fmt.Sprintf("the kubelet of pod %s refused the port-forward: %s", rq.name, resp.Status)))
		return
	}
	srv := websocket.Server{
		Handshake: func(cfg *websocket.Config, _ *http.Request) error {
			for _, p := range cfg.Protocol {
				if p == tunnelingProtocolPrefix+portForwardProtocol {
					cfg.Protocol = []string{p}
					return nil
				}
			}
			return fmt.Errorf("no supported subprotocol in %v", cfg.Protocol)
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(kubelet, ws); done <- struct{}{} }()
			go func() { _, _ = io.Copy(ws, br); done <- struct{}{} }()
			select {
			case <-done:
			case <-rq.ctx().Done():
			}
			// One side ended: so does the other.
			ws.Close()
			kubelet.Close()
		},
	}
	srv.ServeHTTP(w, rq.r)
}

// The SPDY-over-WebSocket tunnel of port-forwards.
const (
	tunnelingProtocolPrefix = "SPDY/3.1+"
	portForwardProtocol     = "portforward.k8s.io"
)
