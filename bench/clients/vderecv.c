/* vderecv: the receiving client of bench/compare.sh's "clients" scenario,
 * written against the real libvdeplug (vdeplug4's vde_open/vde_recv).
 *
 *   vderecv [-r READYFILE] [-T SECONDS] [-q MS] VNL
 *
 * Opens VNL, sends a few broadcast hellos from DST_MAC, creates READYFILE,
 * answers every hello of the sender with a broadcast hello (so that the
 * switch learns where DST_MAC is after the sender's port was added: see
 * vdesend.c), and counts with vde_recv()
 * the data frames from SRC_MAC to DST_MAC (frames and bytes), until the
 * sender's end marker arrives, or nothing has arrived for -q ms (default
 * 3000) after the first data frame, or -T seconds (default 600) have
 * passed, or SIGTERM/SIGINT. Then it prints one JSON line on stdout:
 *
 *   received, bytes    data frames (and their bytes) from the sender
 *   sizes              frames whose size differs from the first one's
 *   reordered          frames whose sequence number is below the highest seen
 *   duplicates         frames with the same sequence number as the previous one
 *   max_seq            the highest sequence number seen (sent frames are 1..N)
 *   other              frames that are not the test's (hellos, others' traffic)
 *   end                "marker", "quiet", "timeout" or "signal"
 *   rx_seconds         first to last data frame
 *   receiver_cpu_pct   this process's CPU use over that interval
 */
#include <errno.h>
#include <fcntl.h>
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

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: vderecv [-r READYFILE] [-T SECONDS] [-q MS] VNL\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ready = NULL, *end = "timeout";
	double timeout = 600, first = 0, last = 0, start, cpu0 = -1, cpu1;
	int quiet_ms = 3000, opt, i, fd;
	unsigned char buf[65536], hello[MIN_SIZE];
	uint64_t received = 0, bytes = 0, other = 0, sizes = 0, reordered = 0, dups = 0, max_seq = 0, prev = 0;
	ssize_t n, size0 = -1;
	struct sigaction sa;
	struct timeval tv = {0, 200000}; /* vde_recv returns every 200 ms when idle */
	VDECONN *conn;

	while ((opt = getopt(argc, argv, "r:T:q:")) != -1) {
		switch (opt) {
		case 'r': ready = optarg; break;
		case 'T': timeout = atof(optarg); break;
		case 'q': quiet_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: a blocked vde_recv returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	conn = vde_open(argv[optind], "vderecv:", NULL);
	if (conn == NULL) {
		fprintf(stderr, "vderecv: vde_open %s: %s\n", argv[optind], strerror(errno));
		printf("{\"error\":\"vderecv: vde_open failed: %s\"}\n", strerror(errno));
		return 1;
	}
	setsockopt(vde_datafd(conn), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	build_frame(hello, MIN_SIZE, BCAST_MAC, DST_MAC, KIND_HELLO);
	for (i = 0; i < 3; i++)
		vde_send(conn, hello, MIN_SIZE, 0);
	if (ready) {
		if ((fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
			fprintf(stderr, "vderecv: %s: %s\n", ready, strerror(errno));
			return 1;
		}
		close(fd);
	}

	start = now_s();
	while (!stop) {
		n = vde_recv(conn, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				fprintf(stderr, "vderecv: vde_recv: %s\n", strerror(errno));
				end = "error";
				break;
			}
		} else if (n >= HDR_LEN && memcmp(buf, DST_MAC, 6) == 0 && memcmp(buf + 6, SRC_MAC, 6) == 0 &&
			   buf[OFF_MAGIC] == MAGIC && buf[OFF_KIND] == KIND_DATA) {
			uint64_t s = get_seq(buf);
			last = now_s();
			if (received == 0) {
				first = last;
				cpu0 = self_cpu_s();
				size0 = n;
			}
			received++;
			bytes += (uint64_t)n;
			if (n != size0)
				sizes++;
			if (s == prev)
				dups++;
			else if (s < max_seq)
				reordered++;
			if (s > max_seq)
				max_seq = s;
			prev = s;
			continue; /* the clock is read once per data frame (vDSO) */
		} else if (n >= HDR_LEN && memcmp(buf + 6, SRC_MAC, 6) == 0 && buf[OFF_MAGIC] == MAGIC &&
			   buf[OFF_KIND] == KIND_END) {
			end = "marker";
			break;
		} else if (n >= HDR_LEN && memcmp(buf + 6, SRC_MAC, 6) == 0 && buf[OFF_MAGIC] == MAGIC &&
			   buf[OFF_KIND] == KIND_HELLO) {
			vde_send(conn, hello, MIN_SIZE, 0);
			other++;
		} else if (n > 0) {
			other++;
		}
		{
			double t = now_s();
			if (received > 0 && (t - last) * 1000 >= quiet_ms) {
				end = "quiet";
				break;
			}
			if (t - start >= timeout)
				break;
		}
	}
	if (stop)
		end = "signal";
	cpu1 = self_cpu_s();
	vde_close(conn);
	printf("{\"received\":%llu,\"bytes\":%llu,\"sizes\":%llu,\"reordered\":%llu,\"duplicates\":%llu,"
	       "\"max_seq\":%llu,\"other\":%llu,\"end\":\"%s\",\"rx_seconds\":%.4f,\"receiver_cpu_pct\":%.1f}\n",
	       (unsigned long long)received, (unsigned long long)bytes, (unsigned long long)sizes,
	       (unsigned long long)reordered, (unsigned long long)dups, (unsigned long long)max_seq,
	       (unsigned long long)other, end, last - first,
	       (cpu0 >= 0 && last > first) ? 100 * (cpu1 - cpu0) / (now_s() - first) : -1.0);
	return 0;
}
