/*
 * Shared between the N-API face (connect.c, main thread) and the probe workers (worker.c).
 *
 * Threads: the JS thread only validates, queues requests and delivers results. Each worker owns
 * the slots with slot % nworkers == its index; it runs socket/connect/epoll/SO_ERROR/close for
 * them on its own epoll set, so the kernel's per-connect work (which dominates a loopback sweep)
 * spreads over cores. Requests and results cross threads through mutex-guarded vectors that are
 * swapped whole, so the lock is taken once per batch on the worker side.
 */
#ifndef PORTOLAN_LAYER_H
#define PORTOLAN_LAYER_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Must match Outcome in src/core/status.ts. */
enum { CONNECTED = 1, REFUSED, TIMEOUT_, HOST_UNREACH, NET_UNREACH, ADMIN, PROTO_UNREACH, PORT_UNREACH,
       SELF_CONNECT, LOCAL_LIMIT, OTHER };

enum { OP_OPEN = 1, OP_ABORT };

typedef struct {
  uint8_t op, keep, self_bind;
  uint16_t port;
  int32_t slot;
  uint32_t gen;
  socklen_t salen;
  struct sockaddr_in6 sa;   /* or a sockaddr_in; port already set */
} req_t;

typedef struct {
  int32_t slot;
  uint32_t gen;
  int32_t fd;               /* a kept connection handed to the main thread, else -1 */
  int32_t outcome;
} res_t;

typedef struct {
  void *v;
  size_t n, cap;
} vec_t;

typedef struct wslot wslot_t;

typedef struct worker {
  pthread_t tid;
  int ep, evfd, running;
  uint32_t index, stride, nslots;
  pthread_mutex_t mu;
  vec_t in, out;            /* guarded by mu: requests from main, results for main */
  int sleeping, stop;       /* guarded by mu */
  wslot_t *slots;           /* worker-private, indexed by slot / stride */
  void (*notify)(void *);   /* wakes the main thread (uv_async_send) */
  void *notify_arg;
} worker_t;

/* Append `size` bytes at the end of v (doubling); -1 when out of memory. */
int vec_push(vec_t *v, const void *e, size_t size);

/* Start a worker for slots ≡ index (mod stride) out of max. 0 on success, else an errno. */
int worker_start(worker_t *w, uint32_t index, uint32_t stride, uint32_t max, void (*notify)(void *), void *arg);
/* Queue a request (main thread). -1 when out of memory. */
int worker_submit(worker_t *w, const req_t *r);
/* Swap the worker's pending results into `into`, whose old contents are dropped (main thread). */
void worker_collect(worker_t *w, vec_t *into);
/* Stop and join; closes every socket the worker holds. Results not yet collected stay in w->out. */
void worker_stop(worker_t *w);
/* Free what worker_start allocated (after worker_stop and a last collect). */
void worker_free(worker_t *w);

int outcome_from_errno(int e);
void close_rst(int fd);

#endif
