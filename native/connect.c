/*
 * portolan_connect: the native connect path (Linux), the N-API face. The JS thread validates
 * arguments, keeps each slot's state and hands requests to the probe workers (worker.c); workers
 * wake it through a uv_async_t, and it delivers every result gathered since the last wake in one
 * call of the JS handler with two reused typed arrays.
 *
 * Slot generations: every open and every abort bumps the slot's generation, so a result that
 * crosses an abort (the worker finished the probe just as JS gave up on it) is recognised and
 * dropped, and a connection it carried is reset.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include "layer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

enum { M_FREE = 0, M_BUSY, M_KEPT };

typedef struct {
  int fd;         /* a kept connection, else -1 */
  int32_t pos;    /* index of this slot's result in the batch being delivered, else -1 */
  uint32_t gen;
  uint8_t state;
} mslot_t;

typedef struct {
  napi_env env;
  uv_async_t *async;
  mslot_t *slots;
  uint32_t max, nworkers, busy, kept;
  int closed, refs, dispatching;
  worker_t *workers;
  vec_t scratch;
  int32_t *res_slot;
  uint8_t *res_out;
  napi_ref handler, arr_slot, arr_out, resource;
  napi_async_context actx;
} layer_t;

static void notify(void *arg) { uv_async_send(arg); }

/* Keep the event loop alive only while connects are pending (kept sockets wait for JS). */
static void set_ref(layer_t *L) {
  if (L->closed) return;
  if (L->busy > L->kept) uv_ref((uv_handle_t *)L->async);
  else uv_unref((uv_handle_t *)L->async);
}

static void dispatch(layer_t *L, int count) {
  napi_env env = L->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[3], result;
  napi_get_reference_value(env, L->handler, &fn);
  napi_get_reference_value(env, L->arr_slot, &argv[0]);
  napi_get_reference_value(env, L->arr_out, &argv[1]);
  napi_create_int32(env, count, &argv[2]);
  napi_get_global(env, &recv);   /* make_callback wants an object receiver */
  /* make_callback, not call_function: it drains nextTicks and microtasks afterwards. */
  if (napi_make_callback(env, L->actx, recv, fn, 3, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void on_async(uv_async_t *h) {
  layer_t *L = h->data;
  int count = 0;
  for (uint32_t w = 0; w < L->nworkers && !L->closed; w++) {
    worker_collect(&L->workers[w], &L->scratch);
    for (size_t i = 0; i < L->scratch.n; i++) {
      const res_t *r = (const res_t *)L->scratch.v + i;
      mslot_t *m = &L->slots[r->slot];
      if (m->state != M_BUSY || m->gen != r->gen) {
        if (r->fd >= 0) close_rst(r->fd);   /* aborted meanwhile */
        continue;
      }
      if (r->fd >= 0) {
        m->state = M_KEPT, m->fd = r->fd;
        L->kept++;
      } else {
        m->state = M_FREE;
        L->busy--;
      }
      /* One live result per busy slot, so count stays below max. */
      m->pos = count;
      L->res_slot[count] = r->slot;
      L->res_out[count++] = (uint8_t)r->outcome;
    }
    L->scratch.n = 0;
  }
  set_ref(L);
  if (!count) return;
  L->dispatching = 1;
  dispatch(L, count);
  L->dispatching = 0;
  for (int i = 0; i < count; i++) L->slots[L->res_slot[i]].pos = -1;
}

static void free_async(uv_handle_t *h) { free(h); }

static void teardown(layer_t *L) {
  if (L->closed) return;
  L->closed = 1;
  for (uint32_t w = 0; w < L->nworkers; w++) {
    worker_stop(&L->workers[w]);
    worker_collect(&L->workers[w], &L->scratch);
    for (size_t i = 0; i < L->scratch.n; i++)
      if (((res_t *)L->scratch.v)[i].fd >= 0) close_rst(((res_t *)L->scratch.v)[i].fd);
    worker_free(&L->workers[w]);
  }
  for (uint32_t i = 0; i < L->max; i++) {
    if (L->slots[i].state == M_KEPT) close_rst(L->slots[i].fd);
    L->slots[i].state = M_FREE;
    L->slots[i].fd = -1;
  }
  L->busy = L->kept = 0;
  uv_close((uv_handle_t *)L->async, free_async);
}

static void env_cleanup(void *arg) { teardown(arg); }

static void release(napi_env env, void *data, void *hint) {
  (void)hint;
  layer_t *L = data;
  if (--L->refs > 0) return;
  teardown(L);
  napi_remove_env_cleanup_hook(env, env_cleanup, L);
  napi_delete_reference(env, L->handler);
  napi_delete_reference(env, L->arr_slot);
  napi_delete_reference(env, L->arr_out);
  napi_delete_reference(env, L->resource);
  napi_async_destroy(env, L->actx);
  free(L->scratch.v);
  free(L->workers);
  free(L->slots);
  free(L);
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_PORTOLAN_ARG", msg);
  return NULL;
}

/* Reads an integer argument in [lo, hi]; 0 on success. */
static int int_arg(napi_env env, napi_value v, double lo, double hi, int32_t *out) {
  double d;
  if (!v || napi_get_value_double(env, v, &d) != napi_ok || !(d >= lo && d <= hi) || d != (double)(int32_t)d) return -1;
  *out = (int32_t)d;
  return 0;
}

static layer_t *args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  void *data = NULL;
  for (size_t i = 0; i < want; i++) argv[i] = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  return data;
}

/* The slot named by v, or NULL with a TypeError pending. */
static mslot_t *get_slot(napi_env env, layer_t *L, napi_value v, int32_t *idx) {
  if (int_arg(env, v, 0, (double)L->max - 1, idx)) {
    throw_type(env, "slot must be an integer in [0, maxSlots)");
    return NULL;
  }
  return &L->slots[*idx];
}

static napi_value ret_int(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

/* open(slot, sockaddr: Buffer, port, keep, bindToSelf?) → 0, or LocalLimit when out of memory */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  layer_t *L = args(env, info, 5, argv);
  int32_t idx, port;
  bool keep = false, self_bind = false;
  void *buf = NULL;
  size_t blen = 0;
  mslot_t *m;
  if (!L) return NULL;
  if (L->closed) {
    napi_throw_error(env, "ERR_PORTOLAN_CLOSED", "socket layer is closed");
    return NULL;
  }
  if (!(m = get_slot(env, L, argv[0], &idx))) return NULL;
  req_t q = {.op = OP_OPEN, .slot = idx};
  sa_family_t fam = 0;
  if (argv[1] && napi_get_buffer_info(env, argv[1], &buf, &blen) == napi_ok && blen >= sizeof fam) memcpy(&fam, buf, sizeof fam);
  if (!((fam == AF_INET && blen == sizeof(struct sockaddr_in)) || (fam == AF_INET6 && blen == sizeof q.sa)))
    return throw_type(env, "address must be a sockaddr Buffer from sockaddr()");
  if (int_arg(env, argv[2], 1, 65535, &port)) return throw_type(env, "port must be an integer in [1, 65535]");
  if (argv[3] && napi_get_value_bool(env, argv[3], &keep) != napi_ok) return throw_type(env, "keep must be a boolean");
  if (argv[4] && napi_get_value_bool(env, argv[4], &self_bind) != napi_ok) self_bind = false;
  if (m->state != M_FREE) {
    napi_throw_error(env, "ERR_PORTOLAN_SLOT_BUSY", "slot already has a socket");
    return NULL;
  }
  memcpy(&q.sa, buf, blen);
  q.sa.sin6_port = htons((uint16_t)port);   /* same offset in sockaddr_in */
  q.salen = (socklen_t)blen, q.port = (uint16_t)port, q.keep = keep, q.self_bind = self_bind;
  q.gen = ++m->gen;
  if (worker_submit(&L->workers[(uint32_t)idx % L->nworkers], &q) != 0) return ret_int(env, LOCAL_LIMIT);
  m->state = M_BUSY;
  if (++L->busy - L->kept == 1) set_ref(L);
  return ret_int(env, 0);
}

static napi_value js_abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  layer_t *L = args(env, info, 1, argv);
  int32_t idx;
  mslot_t *m;
  if (!L || !(m = get_slot(env, L, argv[0], &idx))) return NULL;
  if (m->pos >= 0 && L->dispatching) {
    /* Its result is still ahead in the batch being delivered: withdraw it (outcome 0). */
    L->res_out[m->pos] = 0;
    m->pos = -1;
  }
  if (m->state == M_KEPT) {
    close_rst(m->fd);
    m->fd = -1;
    L->kept--;
  } else if (m->state == M_BUSY && !L->closed) {
    req_t q = {.op = OP_ABORT, .slot = idx, .gen = m->gen};
    /* Out of memory: the worker cannot be told, but the new generation still drops the result. */
    worker_submit(&L->workers[(uint32_t)idx % L->nworkers], &q);
  } else {
    return NULL;
  }
  m->gen++;
  m->state = M_FREE;
  L->busy--;
  set_ref(L);
  return NULL;
}

/* take(slot) → fd of a kept connection (the caller now owns it), or -1. */
static napi_value js_take(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  layer_t *L = args(env, info, 1, argv);
  int32_t idx;
  mslot_t *m;
  if (!L || !(m = get_slot(env, L, argv[0], &idx))) return NULL;
  if (m->state != M_KEPT) return ret_int(env, -1);
  int fd = m->fd;
  m->fd = -1;
  m->state = M_FREE;
  L->kept--;
  L->busy--;
  return ret_int(env, fd);
}

static napi_value js_in_flight(napi_env env, napi_callback_info info) {
  layer_t *L = args(env, info, 0, NULL);
  return L ? ret_int(env, (int)L->busy) : NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  layer_t *L = args(env, info, 0, NULL);
  if (L) teardown(L);
  return NULL;
}

static int make_typed(napi_env env, napi_typedarray_type t, size_t n, size_t width, void **data, napi_ref *ref) {
  napi_value ab, ta;
  return napi_create_arraybuffer(env, n * width, data, &ab) != napi_ok ||
         napi_create_typedarray(env, t, n, ab, 0, &ta) != napi_ok || napi_create_reference(env, ta, 1, ref) != napi_ok;
}

/* create(maxSlots, onResults, threads) → { open, abort, take, inFlight, close } */
static napi_value js_create(napi_env env, napi_callback_info info) {
  napi_value argv[3] = {NULL, NULL, NULL}, obj, name;
  size_t argc = 3;
  int32_t max, nworkers;
  napi_valuetype t;
  uv_loop_t *loop;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (int_arg(env, argv[0], 1, 1 << 20, &max)) return throw_type(env, "maxSlots must be an integer in [1, 1048576]");
  if (!argv[1] || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) return throw_type(env, "onResults must be a function");
  if (int_arg(env, argv[2], 1, 64, &nworkers)) return throw_type(env, "threads must be an integer in [1, 64]");
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;

  layer_t *L = calloc(1, sizeof *L);
  mslot_t *slots = calloc((size_t)max, sizeof *slots);
  worker_t *workers = calloc((size_t)nworkers, sizeof *workers);
  uv_async_t *async = calloc(1, sizeof *async);
  if (!L || !slots || !workers || !async || uv_async_init(loop, async, on_async) != 0) {
    free(L), free(slots), free(workers), free(async);
    napi_throw_error(env, "ERR_PORTOLAN_NATIVE", "native layer setup failed");
    return NULL;
  }
  for (int32_t i = 0; i < max; i++) slots[i].fd = -1, slots[i].pos = -1;
  L->env = env, L->async = async, L->slots = slots, L->max = (uint32_t)max, L->workers = workers;
  async->data = L;
  uv_unref((uv_handle_t *)async);
  napi_create_reference(env, argv[1], 1, &L->handler);
  napi_create_object(env, &obj);
  napi_create_reference(env, obj, 1, &L->resource);
  napi_create_string_utf8(env, "portolan:connect", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, obj, name, &L->actx);
  napi_add_env_cleanup_hook(env, env_cleanup, L);

  static const struct { const char *name; napi_callback cb; } fns[] = {
    {"open", js_open}, {"abort", js_abort}, {"take", js_take}, {"inFlight", js_in_flight}, {"close", js_close}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, L, &f);
    napi_set_named_property(env, obj, fns[i].name, f);
    /* The layer lives as long as any of its functions does. */
    L->refs++;
    napi_add_finalizer(env, f, L, release, NULL, NULL);
  }
  int err = make_typed(env, napi_int32_array, (size_t)max, 4, (void **)&L->res_slot, &L->arr_slot) |
            make_typed(env, napi_uint8_array, (size_t)max, 1, (void **)&L->res_out, &L->arr_out);
  for (int32_t w = 0; !err && w < nworkers; w++)
    if (!(err = worker_start(&workers[w], (uint32_t)w, (uint32_t)nworkers, (uint32_t)max, notify, async))) L->nworkers++;
  if (err) {
    teardown(L);
    napi_throw_error(env, "ERR_PORTOLAN_NATIVE", "native layer setup failed (threads or memory)");
    return NULL;
  }
  return obj;
}

/* sockaddr(address, family) → Buffer holding a sockaddr_in / sockaddr_in6 with port 0. */
static napi_value js_sockaddr(napi_env env, napi_callback_info info) {
  napi_value argv[2] = {NULL, NULL}, out;
  size_t argc = 2, len;
  int32_t family;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!argv[0] || napi_get_value_string_utf8(env, argv[0], text, sizeof text, &len) != napi_ok || len >= sizeof text - 1 ||
      int_arg(env, argv[1], 4, 6, &family) || family == 5)
    return throw_type(env, "sockaddr(address, 4 | 6) needs a numeric address");
  if (family == 4) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, text, &a.sin_addr) != 1) return throw_type(env, "not an IPv4 address");
    napi_create_buffer_copy(env, sizeof a, &a, NULL, &out);
    return out;
  }
  struct sockaddr_in6 a = {.sin6_family = AF_INET6};
  char *pct = strchr(text, '%');
  if (pct) {
    *pct++ = 0;
    char *end;
    unsigned long id = strtoul(pct, &end, 10);
    a.sin6_scope_id = *pct && !*end ? (uint32_t)id : if_nametoindex(pct);
    if (!a.sin6_scope_id) return throw_type(env, "unknown IPv6 scope (interface)");
  }
  if (inet_pton(AF_INET6, text, &a.sin6_addr) != 1) return throw_type(env, "not an IPv6 address");
  napi_create_buffer_copy(env, sizeof a, &a, NULL, &out);
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value f;
  napi_create_function(env, "create", NAPI_AUTO_LENGTH, js_create, NULL, &f);
  napi_set_named_property(env, exports, "create", f);
  napi_create_function(env, "sockaddr", NAPI_AUTO_LENGTH, js_sockaddr, NULL, &f);
  napi_set_named_property(env, exports, "sockaddr", f);
  return exports;
}
