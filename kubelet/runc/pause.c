// tend pause HOSTNAME: a pod sandbox's process, in C so that it starts and
// lives without a Go runtime (a millisecond and a few hundred KiB rather
// than tens of milliseconds and megabytes per pod).
//
// It runs from a constructor, before the Go runtime starts, in any binary
// that links package runc (tend itself, and the package's test binary),
// when the binary is run with "pause" as its first argument: startPause
// runs it in new network, IPC, UTS and PID namespaces. It names its UTS
// namespace, reaps what is reparented to it as the PID namespace's init,
// and exits 0 on SIGTERM or SIGINT, as upstream's pause does.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void tend_pause_nothing(int sig) { (void)sig; }

static void tend_pause_main(const char *hostname)
{
	if (sethostname(hostname, strlen(hostname)) < 0) {
		fprintf(stderr, "tend pause: setting the hostname: %s\n", strerror(errno));
		_exit(1);
	}
	// Nothing of the node's stays open in the pod's namespaces.
	if (chdir("/") < 0)
		_exit(1);

	// As a PID namespace's init it gets only the signals it handles; they
	// stay blocked and are taken with sigwaitinfo.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tend_pause_nothing;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGTERM || sig == SIGINT)
			_exit(0);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

__attribute__((constructor)) static void tend_pause_init(void)
{
	char buf[512];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	// ARGV0 \0 pause \0 HOSTNAME \0
	char *end = buf + n;
	char *arg1 = buf + strlen(buf) + 1;
	if (arg1 >= end || strcmp(arg1, "pause") != 0)
		return;
	char *arg2 = arg1 + strlen(arg1) + 1;
	if (arg2 >= end || arg2 + strlen(arg2) + 1 != end) {
		fprintf(stderr, "usage: tend pause HOSTNAME\n");
		_exit(2);
	}
	tend_pause_main(arg2);
}
