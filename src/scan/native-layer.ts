/**
 * The native socket layer: a thin TypeScript face on the Linux epoll addon in native/connect.c.
 * All per-probe work happens in C; this file only caches each endpoint's sockaddr and turns a kept
 * file descriptor into a net.Socket.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Outcome } from '../core/status.js';
import type { Endpoint, ResultHandler, SocketLayer, SocketLayerOptions } from './socket-layer.js';

/** One layer instance inside the addon (functions bound to a C struct). */
interface NativeHandle {
  open(slot: number, sockaddr: Buffer, port: number, keep: boolean, bindToSelf?: boolean): number;
  abort(slot: number): void;
  take(slot: number): number;
  inFlight(): number;
  close(): void;
}

/** What `build/Release/portolan_connect.node` exports. */
export interface NativeBinding {
  create(maxSlots: number, onResults: ResultHandler, threads: number): NativeHandle;
  /** A sockaddr_in / sockaddr_in6 (port 0) for a numeric address; throws TypeError otherwise. */
  sockaddr(address: string, family: 4 | 6): Buffer;
}

/** Where the addon is expected, found from this file's package root (works from src/ and dist/). */
export function nativeAddonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'build', 'Release', 'portolan_connect.node');
    const up = dirname(dir);
    if (up === dir) throw new Error('portolan: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let cached: { binding?: NativeBinding; error?: Error } | undefined;

/** Load the addon once. Returns the binding, or the reason it is unavailable. */
export function loadNative(): { binding?: NativeBinding; error?: Error } {
  if (cached) return cached;
  if (process.platform !== 'linux') {
    cached = { error: new Error(`the native connect path is Linux-only (this is ${process.platform})`) };
    return cached;
  }
  try {
    const path = nativeAddonPath();
    if (!existsSync(path)) throw new Error(`${path} is not built`);
    const binding = createRequire(import.meta.url)(path) as NativeBinding;
    if (typeof binding.create !== 'function' || typeof binding.sockaddr !== 'function') throw new Error(`${path} is not portolan's addon`);
    cached = { binding };
  } catch (err) {
    cached = { error: err instanceof Error ? err : new Error(String(err)) };
  }
  return cached;
}

/**
 * Probe threads by default: one per core, up to 4. A loopback sweep is bound by the kernel's
 * per-connect work, which these threads spread over cores; more than the cores only adds switching.
 */
export function defaultNativeThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * The epoll-backed socket layer: the JS thread queues probes, worker threads in the addon run the
 * sockets. `open` therefore returns 0 for every valid call; all outcomes arrive through the handler.
 * Construct through `createSocketLayer`.
 */
export class NativeSocketLayer implements SocketLayer {
  readonly kind = 'native' as const;
  readonly #binding: NativeBinding;
  readonly #h: NativeHandle;
  readonly #addrs = new WeakMap<Endpoint, Buffer>();
  // A sweep of one host hits the same endpoint over and over: skip the WeakMap for it.
  #lastEndpoint: Endpoint | undefined;
  #lastAddr: Buffer | undefined;

  constructor(binding: NativeBinding, opts: SocketLayerOptions, threads = defaultNativeThreads()) {
    this.#binding = binding;
    this.#h = binding.create(opts.maxSlots, opts.onResults, threads);
  }

  open(slot: number, endpoint: Endpoint, port: number, keep: boolean): Outcome | 0 {
    const addr = endpoint === this.#lastEndpoint ? this.#lastAddr : this.#addrOf(endpoint);
    return this.#h.open(slot, addr as Buffer, port, keep) as Outcome | 0;
  }

  /**
   * Test hook, not part of SocketLayer: bind the probe to the target address and port first, which
   * makes Linux connect the socket to itself, so the self-connect path can be checked on demand.
   * @internal
   */
  openBoundToSelf(slot: number, endpoint: Endpoint, port: number, keep: boolean): Outcome | 0 {
    return this.#h.open(slot, this.#addrOf(endpoint), port, keep, true) as Outcome | 0;
  }

  abort(slot: number): void {
    this.#h.abort(slot);
  }

  takeConnection(slot: number): Socket | undefined {
    const fd = this.#h.take(slot);
    if (fd < 0) return undefined;
    // libuv adopts the fd as an already-connected TCP handle; 'connect' will not fire.
    return new Socket({ fd, readable: true, writable: true });
  }

  get inFlight(): number {
    return this.#h.inFlight();
  }

  close(): void {
    this.#h.close();
  }

  #addrOf(endpoint: Endpoint): Buffer {
    let addr = this.#addrs.get(endpoint);
    if (!addr) {
      addr = this.#binding.sockaddr(endpoint.address, endpoint.family);
      this.#addrs.set(endpoint, addr);
    }
    this.#lastEndpoint = endpoint;
    this.#lastAddr = addr;
    return addr;
  }
}
