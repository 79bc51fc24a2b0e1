/* vdesend: the sending client of bench/compare.sh's "clients" scenario,
 * written against the real libvdeplug (vdeplug4's vde_open/vde_send).
 *
 *   vdesend [-s SIZE] [-t SECONDS] [-p PID] [-w MS] VNL
 *
 * Opens VNL, then sends broadcast hellos from SRC_MAC until the receiver's
 * answer (a hello from DST_MAC) arrives: then the switch has learned both
 * MACs after the last port was added (vde_switch forgets every MAC when a
 * port is added, so hellos sent before this client attached do not count).
 * Then it sends unicast frames of SIZE bytes from SRC_MAC to DST_MAC flat
 * out with ordinary blocking vde_send() calls for SECONDS, waits -w ms
 * (default 100) and sends a few end markers (the receiver stops at the
 * first).
 *
 * vdeplug4's vde:// data socket is blocking, so every frame counted as sent
 * was accepted into the switch's input socket: loss = 1 - received/sent.
 *
 * -p PID: also report the CPU use of that process (the switch, or the
 * relay) over the sending interval, in % of one core.
 *
 * Prints one JSON line on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <libvdeplug.h>

#include "common.h"

static void usage(void)
{
	fprintf(stderr, "usage: vdesend [-s SIZE] [-t SECONDS] [-p PID] [-w MS] VNL\n");
	exit(2);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	int size = 64, pid = 0, wait_ms = 100, opt, i;
	double secs = 2;
	unsigned char frame[MAX_SIZE], ctl[MIN_SIZE];
	uint64_t sent = 0, errors = 0, timeouts = 0, seq = 0;
	int first_errno = 0;
	double t0, t1, deadline, sw0, sw1, me0, me1;
	struct timeval tv = {1, 0};
	VDECONN *conn;

	while ((opt = getopt(argc, argv, "s:t:p:w:")) != -1) {
		switch (opt) {
		case 's': size = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'p': pid = atoi(optarg); break;
		case 'w': wait_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (size < MIN_SIZE || size > MAX_SIZE) {
		fprintf(stderr, "vdesend: -s must be in [%d, %d]\n", MIN_SIZE, MAX_SIZE);
		return 2;
	}
	if (secs <= 0 || secs > 3600) {
		fprintf(stderr, "vdesend: -t must be in (0, 3600]\n");
		return 2;
	}
	/* A switch that hangs must not hang the benchmark. */
	alarm((unsigned)secs + 30);

	conn = vde_open(argv[optind], "vdesend:", NULL);
	if (conn == NULL) {
		fprintf(stderr, "vdesend: vde_open %s: %s\n", argv[optind], strerror(errno));
		printf("{\"error\":\"vdesend: vde_open failed: %s\"}\n", strerror(errno));
		return 1;
	}
	/* A blocking send that never returns (a relay stuck on a receiver that
	 * went away) gives up after 1 s and is counted as a timeout. */
	setsockopt(vde_datafd(conn), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

	/* MAC learning: hello, wait up to 20 ms for the answer, 250 tries. */
	{
		struct timeval rtv = {0, 20000};
		unsigned char in[65536];
		int learned = 0, tries;
		setsockopt(vde_datafd(conn), SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof rtv);
		build_frame(ctl, MIN_SIZE, BCAST_MAC, SRC_MAC, KIND_HELLO);
		for (tries = 0; tries < 250 && !learned; tries++) {
			double until = now_s() + 0.02;
			vde_send(conn, ctl, MIN_SIZE, 0);
			while (!learned && now_s() < until) {
				ssize_t n = vde_recv(conn, in, sizeof in, 0);
				if (n >= HDR_LEN && memcmp(in + 6, DST_MAC, 6) == 0 && in[OFF_MAGIC] == MAGIC &&
				    in[OFF_KIND] == KIND_HELLO)
					learned = 1;
				else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					break;
			}
		}
		if (!learned) {
			fprintf(stderr, "vdesend: no answer from the receiver (%02x:%02x:%02x:%02x:%02x:%02x) in 5 s\n",
				DST_MAC[0], DST_MAC[1], DST_MAC[2], DST_MAC[3], DST_MAC[4], DST_MAC[5]);
			printf("{\"error\":\"vdesend: no answer from the receiver to the hellos in 5 s\"}\n");
			return 1;
		}
		sleep_ms(10); /* let the receiver's further answers pass */
	}

	build_frame(frame, size, DST_MAC, SRC_MAC, KIND_DATA);
	sw0 = proc_cpu_s(pid);
	me0 = self_cpu_s();
	t0 = now_s();
	deadline = t0 + secs;
	for (;;) {
		/* the clock is read every 64 frames (vDSO, no system call) */
		if ((seq & 63) == 0 && now_s() >= deadline)
			break;
		seq++;
		put_seq(frame, seq);
		if (vde_send(conn, frame, size, 0) == size) {
			sent++;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			timeouts++;
		} else {
			if (!first_errno)
				first_errno = errno;
			errors++;
			if (errors > 1000)
				break;
		}
	}
	t1 = now_s();
	sw1 = proc_cpu_s(pid);
	me1 = self_cpu_s();

	/* Let the receiver drain, then mark the end (several times: one may be
	 * dropped). */
	sleep_ms(wait_ms);
	build_frame(ctl, MIN_SIZE, DST_MAC, SRC_MAC, KIND_END);
	for (i = 0; i < 5; i++) {
		put_seq(ctl, sent);
		vde_send(conn, ctl, MIN_SIZE, 0);
		sleep_ms(5);
	}
	vde_close(conn);

	printf("{\"size\":%d,\"seconds\":%.4f,\"sent\":%llu,\"sent_bytes\":%llu,"
	       "\"send_timeouts\":%llu,\"send_errors\":%llu,\"send_errno\":\"%s\","
	       "\"switch_cpu_pct\":%.1f,\"sender_cpu_pct\":%.1f}\n",
	       size, t1 - t0, (unsigned long long)sent, (unsigned long long)sent * size,
	       (unsigned long long)timeouts, (unsigned long long)errors,
	       first_errno ? strerror(first_errno) : "",
	       (sw0 >= 0 && sw1 >= 0) ? 100 * (sw1 - sw0) / (t1 - t0) : -1.0,
	       (me0 >= 0 && me1 >= 0) ? 100 * (me1 - me0) / (t1 - t0) : -1.0);
	return errors > 1000 ? 1 : 0;
}
