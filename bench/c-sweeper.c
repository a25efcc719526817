/*
 * c-sweeper: the C-speed reference for portolan's benchmarks. A plain single-process epoll TCP
 * connect sweep of a port range on one loopback address, with a fixed concurrency window.
 *
 *   cc -O2 -pthread -o bench/bin/c-sweeper bench/c-sweeper.c
 *   bench/bin/c-sweeper [-c CONCURRENCY] [-t THREADS] [-p FIRST-LAST] [-l] ADDRESS
 *
 * -t N splits the ports over N threads, each with its own epoll set and CONCURRENCY/N window: the
 * fair reference for the native layer, which spreads probes over one thread per core.
 * Prints `open ports: N  closed: N  elapsed_ms: X` on stdout; with -l, the open ports on stderr,
 * one per line. Only 127.0.0.0/8 and ::1 are accepted: this is a benchmark, not a scanner.
 *
 * It does per port what a careful C scanner does and nothing more: socket(NONBLOCK), connect,
 * EPOLLOUT|EPOLLONESHOT, SO_ERROR, close. SO_LINGER {1,0} is set only on sockets that connected,
 * because only those could enter TIME_WAIT; a refused socket closes silently either way.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage target;
static socklen_t target_len;
static unsigned char *done;   /* per port: 0 pending, 1 open, 2 closed, 3 error */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void set_port(struct sockaddr_storage *ss, int port) {
  if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons(port);
  else ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static int parse_target(const char *s) {
  memset(&target, 0, sizeof target);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&target;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&target;
  if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) return -1;
    v4->sin_family = AF_INET;
    target_len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return -1;
    v6->sin6_family = AF_INET6;
    target_len = sizeof *v6;
    return 0;
  }
  return -1;
}

/* A socket connected to its own address and port: nothing listens there. */
static int self_connected(int fd, int port) {
  struct sockaddr_storage me;
  socklen_t len = sizeof me;
  if (getsockname(fd, (struct sockaddr *)&me, &len) != 0) return 0;
  if (me.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&me, *t = (struct sockaddr_in *)&target;
    return ntohs(a->sin_port) == port && a->sin_addr.s_addr == t->sin_addr.s_addr;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)&me, *t = (struct sockaddr_in6 *)&target;
  return ntohs(a->sin6_port) == port && memcmp(&a->sin6_addr, &t->sin6_addr, 16) == 0;
}

static void close_rst(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

/* One sweeper: ports first+k*stride ≤ last, at most `conc` in flight, on its own epoll set. */
struct sweep {
  pthread_t tid;
  int first, last, stride, conc;
  int nopen, nclosed, nerr, failed;
};

static void *run(void *arg) {
  struct sweep *w = arg;
  struct sockaddr_storage to = target;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event *evs = calloc(1024, sizeof *evs);
  /* Ports to retry after a local limit or a self-connect go on a stack. */
  int *again = calloc(65536, sizeof *again), nagain = 0, inflight = 0, next = w->first;
  unsigned char *selfs = calloc(65536, 1);
  if (ep < 0 || !evs || !again || !selfs) { perror("setup"); w->failed = 1; return NULL; }

  while (next <= w->last || nagain > 0 || inflight > 0) {
    int limited = 0;
    while (inflight < w->conc && !limited && (nagain > 0 || next <= w->last)) {
      int port;
      if (nagain > 0) port = again[--nagain];
      else port = next, next += w->stride;
      int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) { again[nagain++] = port; limited = 1; break; }
      set_port(&to, port);
      if (connect(fd, (struct sockaddr *)&to, target_len) == 0 || errno == EINPROGRESS) {
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.u64 = ((uint64_t)port << 32) | (uint32_t)fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0) { inflight++; continue; }
        close(fd);
        again[nagain++] = port;
        limited = 1;
      } else {
        int e = errno;
        close(fd);
        if (e == ECONNREFUSED) { done[port] = 2; w->nclosed++; }
        else if (e == EADDRNOTAVAIL || e == EAGAIN || e == ENOBUFS || e == ENOMEM) { again[nagain++] = port; limited = 1; }
        else { done[port] = 3; w->nerr++; }
      }
    }
    if (inflight == 0) {
      if (limited) usleep(1000);
      continue;
    }
    int n = epoll_wait(ep, evs, 1024, -1);
    if (n < 0 && errno != EINTR) { perror("epoll_wait"); w->failed = 1; return NULL; }
    for (int i = 0; i < n; i++) {
      int fd = (int)(uint32_t)evs[i].data.u64, port = (int)(evs[i].data.u64 >> 32), err = 0;
      socklen_t len = sizeof err;
      inflight--;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) {
        /* A self-connect says nothing about the port: try again (a few times). */
        if (!self_connected(fd, port)) { done[port] = 1; w->nopen++; }
        else if (selfs[port]++ < 3) again[nagain++] = port;
        else { done[port] = 2; w->nclosed++; }
        close_rst(fd);
      } else {
        close(fd);
        if (err == ECONNREFUSED) { done[port] = 2; w->nclosed++; }
        else if (err == EADDRNOTAVAIL || err == EAGAIN) again[nagain++] = port;
        else { done[port] = 3; w->nerr++; }
      }
    }
  }
  close(ep);
  free(evs), free(again), free(selfs);
  return NULL;
}

int main(int argc, char **argv) {
  int conc = 2048, first = 1, last = 65535, threads = 1, list_open = 0, opt;
  while ((opt = getopt(argc, argv, "c:p:t:l")) != -1) {
    if (opt == 'c') conc = atoi(optarg);
    else if (opt == 'p') {
      if (sscanf(optarg, "%d-%d", &first, &last) != 2) last = first = atoi(optarg);
    } else if (opt == 't') threads = atoi(optarg);
    else if (opt == 'l') list_open = 1;
    else goto usage;
  }
  if (optind != argc - 1 || parse_target(argv[optind]) != 0) goto usage;
  if (conc < 1 || conc > 60000 || first < 1 || last > 65535 || first > last || threads < 1 || threads > 64) goto usage;

  /* Raise the fd limit to what the window needs, if the hard limit allows. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conc + 64) {
    rl.rlim_cur = rl.rlim_max < (rlim_t)conc + 64 ? rl.rlim_max : (rlim_t)conc + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  done = calloc(65536, 1);
  struct sweep *ws = calloc((size_t)threads, sizeof *ws);
  if (!done || !ws) { perror("setup"); return 1; }
  double t0 = now_ms();
  /* Threads take interleaved ports, so open ports (the slow ones) spread evenly. */
  for (int i = 0; i < threads; i++) {
    ws[i] = (struct sweep){.first = first + i, .last = last, .stride = threads, .conc = (conc + threads - 1) / threads};
    if (threads == 1) run(&ws[i]);
    else if (pthread_create(&ws[i].tid, NULL, run, &ws[i]) != 0) { perror("pthread_create"); return 1; }
  }
  int nopen = 0, nclosed = 0, nerr = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    if (threads > 1) pthread_join(ws[i].tid, NULL);
    nopen += ws[i].nopen, nclosed += ws[i].nclosed, nerr += ws[i].nerr, failed |= ws[i].failed;
  }
  double elapsed = now_ms() - t0;
  if (failed) return 1;
  printf("open ports: %d  closed: %d  elapsed_ms: %.1f", nopen, nclosed, elapsed);
  if (nerr) printf("  errors: %d", nerr);
  printf("\n");
  if (list_open)
    for (int p = first; p <= last; p++)
      if (done[p] == 1) fprintf(stderr, "%d\n", p);
  return 0;

usage:
  fprintf(stderr, "usage: c-sweeper [-c CONCURRENCY (2048)] [-t THREADS (1)] [-p FIRST-LAST (1-65535)] [-l] ADDRESS\n"
                  "ADDRESS must be in 127.0.0.0/8 or ::1\n");
  return 2;
}
