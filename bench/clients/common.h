/* Shared by vdesend.c and vderecv.c (bench/clients): the frame layout, the
 * test's MAC addresses and small helpers.
 *
 * Frame layout (the same as bench/cmd/loadgen's, so loadgen's idle clients
 * recognise the data frames):
 *   0..5   destination MAC      6..11 source MAC     12..13 EtherType 0x88b5
 *   14     magic 'G'            15    kind           16..23 sequence (big endian)
 */
#ifndef BENCH_CLIENTS_COMMON_H
#define BENCH_CLIENTS_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define ETHERTYPE_HI 0x88
#define ETHERTYPE_LO 0xb5
#define OFF_MAGIC 14
#define OFF_KIND 15
#define OFF_SEQ 16
#define HDR_LEN 24
#define MAGIC 'G'

#define KIND_HELLO 1
#define KIND_DATA 2
#define KIND_END 6

#define MIN_SIZE 60   /* the smallest Ethernet frame without FCS */
#define MAX_SIZE 1514 /* the largest untagged frame both switches take */

/* The sender's and the receiver's MACs ("CL" 1 and 2): locally
 * administered, and apart from loadgen's (02:47:56:...). */
static const unsigned char SRC_MAC[6] = {0x02, 0x43, 0x4c, 0x00, 0x00, 0x01};
static const unsigned char DST_MAC[6] = {0x02, 0x43, 0x4c, 0x00, 0x00, 0x02};
static const unsigned char BCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* build_frame fills p (size bytes) with a frame of the test. */
static inline void build_frame(unsigned char *p, int size, const unsigned char *dst,
			       const unsigned char *src, int kind)
{
	int i;
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = ETHERTYPE_HI;
	p[13] = ETHERTYPE_LO;
	p[OFF_MAGIC] = MAGIC;
	p[OFF_KIND] = (unsigned char)kind;
	memset(p + OFF_SEQ, 0, 8);
	for (i = HDR_LEN; i < size; i++)
		p[i] = (unsigned char)i;
}

static inline void put_seq(unsigned char *p, uint64_t v)
{
	int i;
	for (i = 0; i < 8; i++)
		p[OFF_SEQ + i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline uint64_t get_seq(const unsigned char *p)
{
	uint64_t v = 0;
	int i;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[OFF_SEQ + i];
	return v;
}

/* self_cpu_s is this process's CPU time (user + system) in seconds. */
static inline double self_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* proc_cpu_s is the CPU time (utime + stime, all threads) of pid in
 * seconds, from /proc/PID/stat; -1 when unknown. */
static inline double proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;
	int i;
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* fields after the command name (which may hold spaces): state is
	 * field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	for (i = 3; i <= 13; i++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -1;
	}
	if (sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / 100.0; /* USER_HZ */
}

#endif
