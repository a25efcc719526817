/*
 * Probe workers: one thread and one epoll set each. Per probe: socket, setsockopt(IP_RECVERR),
 * connect, epoll_ctl; on completion SO_ERROR (and the error queue when it failed, to tell a RST
 * from an ICMP error), then close. SO_LINGER {1,0} is set only where a socket is or may be
 * established (connected, kept, aborted): a refused socket never reaches TIME_WAIT.
 */
#include "layer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h> /* before errqueue.h, which needs struct timespec */
#include <linux/errqueue.h>
#include <unistd.h>

#define EVBATCH 256
#ifndef CHUNK
#define CHUNK 128
#endif
#define WAKE_TAG UINT64_MAX

enum { FREE = 0, CONNECTING };

struct wslot {
  int fd;
  uint32_t gen;
  uint16_t port;
  uint8_t state, keep;
};

int vec_push(vec_t *v, const void *e, size_t size) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 256;
    void *nv = realloc(v->v, cap * size);
    if (!nv) return -1;
    v->v = nv;
    v->cap = cap;
  }
  memcpy((char *)v->v + v->n++ * size, e, size);
  return 0;
}

static void vec_swap(vec_t *a, vec_t *b) {
  vec_t t = *a;
  *a = *b;
  *b = t;
}

int outcome_from_errno(int e) {
  switch (e) {
    case ECONNREFUSED: return REFUSED;
    /* A reset after the handshake: the port answered SYN-ACK before we looked. */
    case ECONNRESET: case EPIPE: return CONNECTED;
    case ETIMEDOUT: return TIMEOUT_;
    case EHOSTUNREACH: case EHOSTDOWN: case ENONET: return HOST_UNREACH;
    case ENETUNREACH: case ENETDOWN: return NET_UNREACH;
    case EACCES: case EPERM: return ADMIN;
    case ENOPROTOOPT: case EPROTO: return PROTO_UNREACH;
    case EMFILE: case ENFILE: case EADDRNOTAVAIL: case EADDRINUSE: case ENOBUFS: case ENOMEM:
    case EAGAIN: case EINTR: return LOCAL_LIMIT;
    default: return OTHER;
  }
}

static int from_icmp(int origin, int type, int code) {
  if (origin == SO_EE_ORIGIN_ICMP && type == 3) {
    switch (code) {
      case 0: case 6: case 11: return NET_UNREACH;   /* net unreachable / unknown / for TOS */
      case 2: return PROTO_UNREACH;
      case 3: return PORT_UNREACH;
      case 9: case 10: case 13: return ADMIN;
      default: return HOST_UNREACH;                  /* host unreachable, unknown, isolated, TOS, ... */
    }
  }
  if (origin == SO_EE_ORIGIN_ICMP6 && type == 1) {
    switch (code) {
      case 0: return NET_UNREACH;
      case 1: case 5: case 6: return ADMIN;
      case 4: return PORT_UNREACH;
      default: return HOST_UNREACH;
    }
  }
  return 0;
}

/* The first error-queue entry as an outcome, 0 when the queue is empty. */
static int errqueue_outcome(int fd) {
  char cbuf[512];
  struct msghdr msg = {.msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
      continue;
    struct sock_extended_err ee;
    memcpy(&ee, CMSG_DATA(c), sizeof ee);
    int o = from_icmp(ee.ee_origin, ee.ee_type, ee.ee_code);
    return o ? o : (ee.ee_errno ? outcome_from_errno((int)ee.ee_errno) : 0);
  }
  return 0;
}

void close_rst(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

/* Connected to our own address and port (loopback simultaneous open)? */
static int self_connected(int fd, int port) {
  struct sockaddr_in6 me, peer;   /* large enough for either family; port and family share offsets */
  socklen_t ml = sizeof me, pl = sizeof peer;
  if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 || ntohs(me.sin6_port) != port) return 0;
  if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || pl != ml) return 0;
  if (me.sin6_family == AF_INET)
    return ((struct sockaddr_in *)&me)->sin_addr.s_addr == ((struct sockaddr_in *)&peer)->sin_addr.s_addr;
  return memcmp(&me.sin6_addr, &peer.sin6_addr, sizeof me.sin6_addr) == 0;
}

static void push_result(vec_t *res, int32_t slot, uint32_t gen, int fd, int outcome) {
  res_t r = {slot, gen, fd, outcome};
  if (vec_push(res, &r, sizeof r) != 0) {
    /* Out of memory: a lost result would leave the slot busy forever, so wait and retry. */
    struct timespec ts = {0, 1000000};
    while (vec_push(res, &r, sizeof r) != 0) nanosleep(&ts, NULL);
  }
}

static void do_open(worker_t *w, const req_t *q, vec_t *res) {
  wslot_t *s = &w->slots[q->slot / w->stride];
  if (s->state != FREE) close_rst(s->fd);   /* cannot happen: main aborts before re-opening */
  s->state = FREE;
  int fam = q->sa.sin6_family;
  int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return push_result(res, q->slot, q->gen, -1, outcome_from_errno(errno));
  int one = 1;
  if (fam == AF_INET) setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof one);
  else setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
  if (q->self_bind && bind(fd, (const struct sockaddr *)&q->sa, q->salen) != 0) {
    int e = errno;
    close(fd);
    return push_result(res, q->slot, q->gen, -1, outcome_from_errno(e));
  }
  if (connect(fd, (const struct sockaddr *)&q->sa, q->salen) == 0 || errno == EINPROGRESS) {
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.u64 = ((uint64_t)q->gen << 32) | (uint32_t)q->slot};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
      s->fd = fd, s->gen = q->gen, s->port = q->port, s->keep = q->keep, s->state = CONNECTING;
      return;
    }
    close_rst(fd);
    return push_result(res, q->slot, q->gen, -1, LOCAL_LIMIT);
  }
  int e = errno, o = errqueue_outcome(fd);
  close(fd);
  push_result(res, q->slot, q->gen, -1, o ? o : outcome_from_errno(e));
}

/* Decide a socket whose connect finished; 0 when the event said nothing final (re-arm). */
static int finish(wslot_t *s, uint32_t events, int *keep_fd) {
  int err = 0, o;
  socklen_t len = sizeof err;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err) {
    o = errqueue_outcome(s->fd);
    if (!o) o = outcome_from_errno(err);
  } else if (events & EPOLLOUT) {
    o = self_connected(s->fd, s->port) ? SELF_CONNECT : CONNECTED;
  } else if (!(o = errqueue_outcome(s->fd))) {
    /* EPOLLERR without a hard error: an ICMP came while the socket was busy (a soft error). */
    return 0;
  }
  s->state = FREE;
  if (o == CONNECTED && s->keep && !err) {
    struct linger lg = {1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    *keep_fd = s->fd;
  } else if (o == CONNECTED || o == SELF_CONNECT) {
    close_rst(s->fd);
  } else {
    close(s->fd);
  }
  return o;
}

static void on_event(worker_t *w, const struct epoll_event *ev, vec_t *res) {
  uint32_t slot = (uint32_t)ev->data.u64, gen = (uint32_t)(ev->data.u64 >> 32);
  wslot_t *s = &w->slots[slot / w->stride];
  if (s->state != CONNECTING || s->gen != gen) return;
  int keep_fd = -1, o = finish(s, ev->events, &keep_fd);
  if (!o) {
    struct epoll_event again = {.events = EPOLLOUT | EPOLLONESHOT, .data = ev->data};
    if (epoll_ctl(w->ep, EPOLL_CTL_MOD, s->fd, &again) == 0) return;
    close_rst(s->fd);
    s->state = FREE;
    o = OTHER;
  }
  /* The main thread takes a kept socket over: it must leave our epoll set. */
  if (keep_fd >= 0) epoll_ctl(w->ep, EPOLL_CTL_DEL, keep_fd, NULL);
  push_result(res, (int32_t)slot, gen, keep_fd, o);
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  vec_t reqs = {0}, res = {0};
  size_t done = 0;
  struct epoll_event evs[EVBATCH];
  for (;;) {
    pthread_mutex_lock(&w->mu);
    if (w->stop) {
      pthread_mutex_unlock(&w->mu);
      break;
    }
    if (done == reqs.n) {
      reqs.n = done = 0;
      vec_swap(&w->in, &reqs);
    }
    int block = reqs.n == 0;
    w->sleeping = block;
    pthread_mutex_unlock(&w->mu);

    /* A bounded chunk per turn, so results flow back while the rest of a big burst waits. */
    for (size_t end = done + CHUNK < reqs.n ? done + CHUNK : reqs.n; done < end; done++) {
      const req_t *q = (const req_t *)reqs.v + done;
      wslot_t *s = &w->slots[q->slot / w->stride];
      if (q->op == OP_OPEN) do_open(w, q, &res);
      else if (s->state == CONNECTING && s->gen == q->gen) close_rst(s->fd), s->state = FREE;
    }
    int n, timeout = block ? -1 : 0;
    do {
      n = epoll_wait(w->ep, evs, EVBATCH, timeout);
      for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == WAKE_TAG) {
          uint64_t v;
          if (read(w->evfd, &v, sizeof v) < 0) { /* already drained */ }
        } else {
          on_event(w, &evs[i], &res);
        }
      }
      timeout = 0;
    } while (n == EVBATCH);
    if (block) {
      pthread_mutex_lock(&w->mu);
      w->sleeping = 0;
      pthread_mutex_unlock(&w->mu);
    }
    if (res.n) {
      size_t moved = 0;
      pthread_mutex_lock(&w->mu);
      if (w->out.n == 0) {
        vec_swap(&w->out, &res);   /* the usual case: main took the last batch already */
      } else {
        while (moved < res.n && vec_push(&w->out, (res_t *)res.v + moved, sizeof(res_t)) == 0) moved++;
      }
      pthread_mutex_unlock(&w->mu);
      if (moved < res.n) {
        /* Out of memory while appending: keep the rest for the next turn rather than lose it. */
        memmove(res.v, (res_t *)res.v + moved, (res.n - moved) * sizeof(res_t));
      }
      res.n -= moved;
      w->notify(w->notify_arg);
    }
  }
  for (uint32_t i = 0; i < w->nslots; i++)
    if (w->slots[i].state != FREE) close_rst(w->slots[i].fd), w->slots[i].state = FREE;
  for (size_t i = 0; i < res.n; i++)
    if (((res_t *)res.v)[i].fd >= 0) close_rst(((res_t *)res.v)[i].fd);
  free(reqs.v);
  free(res.v);
  return NULL;
}

int worker_start(worker_t *w, uint32_t index, uint32_t stride, uint32_t max, void (*notify)(void *), void *arg) {
  memset(w, 0, sizeof *w);
  w->index = index, w->stride = stride, w->notify = notify, w->notify_arg = arg;
  w->nslots = (max + stride - 1) / stride;
  w->ep = epoll_create1(EPOLL_CLOEXEC);
  w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  w->slots = calloc(w->nslots, sizeof *w->slots);
  int e = errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
  if (w->ep < 0 || w->evfd < 0 || !w->slots || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->evfd, &ev) != 0) goto fail;
  pthread_mutex_init(&w->mu, NULL);
  if ((e = pthread_create(&w->tid, NULL, worker_main, w)) != 0) {
    pthread_mutex_destroy(&w->mu);
    goto fail;
  }
  w->running = 1;
  return 0;
fail:
  if (w->ep >= 0) close(w->ep);
  if (w->evfd >= 0) close(w->evfd);
  free(w->slots);
  w->slots = NULL;
  w->ep = w->evfd = -1;
  return e ? e : ENOMEM;
}

static void wake(worker_t *w) {
  uint64_t one = 1;
  if (write(w->evfd, &one, sizeof one) < 0) { /* counter full: it is awake anyway */ }
}

int worker_submit(worker_t *w, const req_t *r) {
  pthread_mutex_lock(&w->mu);
  int rc = vec_push(&w->in, r, sizeof *r), sleeping = w->sleeping;
  w->sleeping = 0;
  pthread_mutex_unlock(&w->mu);
  if (sleeping) wake(w);
  return rc;
}

void worker_collect(worker_t *w, vec_t *into) {
  into->n = 0;
  pthread_mutex_lock(&w->mu);
  vec_swap(&w->out, into);
  pthread_mutex_unlock(&w->mu);
}

void worker_stop(worker_t *w) {
  if (!w->running) return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_mutex_unlock(&w->mu);
  wake(w);
  pthread_join(w->tid, NULL);
  w->running = 0;
  close(w->ep);
  close(w->evfd);
  w->ep = w->evfd = -1;
}

void worker_free(worker_t *w) {
  if (w->slots) pthread_mutex_destroy(&w->mu);
  free(w->slots);
  free(w->in.v);
  free(w->out.v);
  w->slots = NULL;
  w->in.v = w->out.v = NULL;
}
