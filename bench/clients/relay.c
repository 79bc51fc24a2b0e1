/* relay: the "plain C relay of unix datagrams (recv then send)" of issue 9,
 * the practical limit for one flow through a switch process on this
 * machine.
 *
 *   relay DIR
 *
 * It makes DIR (mode 0700) with a control socket DIR/ctl and accepts two
 * clients exactly like vde_switch does, as far as libvdeplug's vde://
 * client needs it: it reads one request (magic 0xfeedface, version 3, or
 * the v1 layout), makes a datagram socket, connects it to the client's data
 * socket named in the request, binds it to DIR/00N.FD and replies with that
 * 110-byte sockaddr_un. The control connections stay open.
 *
 * Then two threads relay A->B and B->A: one blocking recv(), one blocking
 * send() per frame, nothing else (no MAC table, no queue, no batching; a
 * full receiver blocks the relay instead of losing the frame). SIGTERM or
 * SIGINT end it (not the clients leaving: whoever started it stops it); it
 * removes its sockets and DIR.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define SWITCH_MAGIC 0xfeedface
#define SOCKADDR_LEN 110 /* sizeof(struct sockaddr_un) */

static char ctlpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char datapath[2][sizeof(((struct sockaddr_un *)0)->sun_path)];
static const char *dir;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void cleanup(void)
{
	int i;
	for (i = 0; i < 2; i++)
		if (datapath[i][0])
			unlink(datapath[i]);
	if (ctlpath[0])
		unlink(ctlpath);
	rmdir(dir);
}

static void die(const char *what)
{
	fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
	cleanup();
	exit(1);
}

/* attach reads one request on the accepted control connection ctl and
 * returns the data socket made for that client (port n). */
static int attach(int ctl, int n)
{
	unsigned char req[256];
	struct sockaddr_un client, mine;
	uint32_t magic, version;
	size_t off;
	ssize_t len;
	int fd;

	len = read(ctl, req, sizeof req);
	if (len < 8)
		die("short request");
	memcpy(&magic, req, 4);
	memcpy(&version, req + 4, 4);
	if (magic != SWITCH_MAGIC) {
		errno = EPROTO;
		die("request without vde2's magic");
	}
	off = version == 3 ? 12 : 14; /* v3: magic version type; v1: magic type mac */
	if ((size_t)len < off + SOCKADDR_LEN) {
		errno = EPROTO;
		die("truncated request");
	}
	memset(&client, 0, sizeof client);
	client.sun_family = AF_UNIX;
	memcpy(client.sun_path, req + off + 2, sizeof client.sun_path - 1);

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&client, sizeof client) < 0)
		die("connect to the client's data socket");
	memset(&mine, 0, sizeof mine);
	mine.sun_family = AF_UNIX;
	snprintf(mine.sun_path, sizeof mine.sun_path, "%s/%03d.%d", dir, n, fd);
	unlink(mine.sun_path);
	if (bind(fd, (struct sockaddr *)&mine, sizeof mine) < 0)
		die("bind data socket");
	snprintf(datapath[n - 1], sizeof datapath[n - 1], "%s", mine.sun_path);
	if (write(ctl, &mine, SOCKADDR_LEN) != SOCKADDR_LEN)
		die("reply");
	return fd;
}

struct pipe {
	int in, out;
};

static void *relay(void *arg)
{
	struct pipe *p = arg;
	static __thread unsigned char buf[65536];
	ssize_t n;
	for (;;) {
		n = recv(p->in, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		send(p->out, buf, (size_t)n, 0);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct sigaction sig;
	struct pollfd pf[2];
	struct pipe ab, ba;
	pthread_t t1, t2;
	sigset_t block, none;
	int lfd, ctl[2], data[2], i;

	if (argc != 2) {
		fprintf(stderr, "usage: relay DIR\n");
		return 2;
	}
	dir = argv[1];
	memset(&sig, 0, sizeof sig);
	sig.sa_handler = on_signal;
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "relay: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/ctl", dir) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		die(dir);
	}
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind ctl");
	snprintf(ctlpath, sizeof ctlpath, "%s", sa.sun_path);
	if (listen(lfd, 15) < 0)
		die("listen");

	for (i = 0; i < 2; i++) {
		while ((ctl[i] = accept(lfd, NULL, NULL)) < 0) {
			if (errno != EINTR)
				die("accept");
			if (stop) {
				cleanup();
				return 0;
			}
		}
		data[i] = attach(ctl[i], i + 1);
	}

	/* The relay threads never see the signals; the main thread waits for
	 * them in ppoll, draining the control connections meanwhile. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	ab.in = data[0], ab.out = data[1];
	ba.in = data[1], ba.out = data[0];
	if ((errno = pthread_create(&t1, NULL, relay, &ab)) != 0 ||
	    (errno = pthread_create(&t2, NULL, relay, &ba)) != 0)
		die("pthread_create");
	sigemptyset(&none);
	for (i = 0; i < 2; i++) {
		pf[i].fd = ctl[i];
		pf[i].events = POLLIN;
	}
	while (!stop) {
		/* a closed control connection is dropped from the set (a negative
		 * fd is ignored); with none left ppoll just waits for a signal */
		if (ppoll(pf, 2, NULL, &none) < 0)
			continue;
		for (i = 0; i < 2; i++) {
			char b[256];
			if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    read(pf[i].fd, b, sizeof b) <= 0)
				pf[i].fd = -1;
		}
	}
	cleanup();
	_exit(0);
}
