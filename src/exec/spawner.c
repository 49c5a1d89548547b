/* spawner.c - a small child process that forks learner shims for the server.
 * Started before the server has threads, a database or a big heap, it forks
 * in well under a millisecond where the server takes several, and shims
 * forked from it inherit none of the server's memory. Requests arrive on a
 * SOCK_SEQPACKET pair: one message holds a flag and the shim's argv, and
 * carries the shim's socket as SCM_RIGHTS; the spawner answers one byte once
 * its intermediate child (exec_detach_shim) has exited. If the spawner is gone,
 * exec_spawn falls back to forking itself, so it only ever makes spawns faster. */
#include "exec/exec.h"
#include "exec/exec_int.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_MAX (128 * 1024) /* argv holds the command: longer ones fall back to a direct fork */

static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER; /* guards ctl_fd, spawner_pid */
static int ctl_fd = -1;
static pid_t spawner_pid;

static void spawner_loop(int ctl) __attribute__((noreturn));
static void spawner_loop(int ctl)
{
	char *buf = xmalloc(MSG_MAX);
	for (;;) {
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = { buf, MSG_MAX - 1 };
		struct msghdr msg = { 0 };
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.space;
		msg.msg_controllen = sizeof cm.space;
		ssize_t n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0); /* the server is gone */
		buf[n] = '\0';
		int sock = -1;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&sock, CMSG_DATA(c), sizeof sock);
		/* buf: flag byte, then NUL-terminated shimlog and argv strings */
		char *argv[64];
		int argc = 0;
		const char *shimlog = buf + 1;
		for (char *p = buf + 1 + strlen(buf + 1) + 1; p < buf + n && argc < 63; p += strlen(p) + 1)
			argv[argc++] = p;
		argv[argc] = NULL;
		char ok = 0;
		if (sock >= 0 && argc > 0) {
			pid_t pid = fork();
			if (pid == 0) {
				close(ctl);
				exec_detach_shim(sock, argv, shimlog, buf[0] == '1');
			}
			if (pid > 0) {
				int status;
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				ok = 1;
			}
		}
		if (sock >= 0)
			close(sock);
		if (send(ctl, &ok, 1, MSG_NOSIGNAL) < 0)
			_exit(0);
	}
}

int exec_spawner_start(struct weft_err *e)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, "cannot create the spawner's socket pair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_sys(e, "cannot fork the spawner");
	}
	if (pid == 0) {
		/* keep stdio (the server's log) and the control socket, nothing else */
		if (dup2(sv[1], 3) != 3)
			_exit(1);
		exec_close_from(4);
		prctl(PR_SET_NAME, "weft-spawner");
		signal(SIGPIPE, SIG_IGN);
		spawner_loop(3);
	}
	close(sv[1]);
	pthread_mutex_lock(&spawner_lock);
	ctl_fd = sv[0];
	spawner_pid = pid;
	pthread_mutex_unlock(&spawner_lock);
	return 0;
}

int spawner_detach(int sock, char **argv, const char *shimlog, int explicit_self)
{
	struct sbuf m = SBUF_INIT;
	sb_addc(&m, explicit_self ? '1' : '0');
	sb_add(&m, shimlog, strlen(shimlog) + 1);
	int argc = 0;
	for (; argv[argc]; argc++)
		sb_add(&m, argv[argc], strlen(argv[argc]) + 1);
	int rc = -1;
	pthread_mutex_lock(&spawner_lock);
	if (ctl_fd < 0 || m.len >= MSG_MAX || argc >= 63)
		goto out;
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} cm;
	memset(&cm, 0, sizeof cm);
	struct iovec iov = { m.buf, m.len };
	struct msghdr msg = { 0 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.space;
	msg.msg_controllen = sizeof cm.space;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sock, sizeof sock);
	char ok = 0;
	ssize_t n;
	while ((n = sendmsg(ctl_fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)m.len) {
		while ((n = recv(ctl_fd, &ok, 1, 0)) < 0 && errno == EINTR)
			;
	}
	if (n == 1 && ok) {
		rc = 0;
	} else if (n <= 0 || (size_t)n != 1) {
		/* the spawner died: from now on exec_spawn forks itself */
		log_warn("exec: the spawner process is gone; forking learners from the server");
		close(ctl_fd);
		ctl_fd = -1;
		waitpid(spawner_pid, NULL, WNOHANG);
	}
out:
	pthread_mutex_unlock(&spawner_lock);
	sb_release(&m);
	return rc;
}
