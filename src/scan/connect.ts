/**
 * Picks the socket layer: the native epoll path when its addon is built (Linux), else net.Socket.
 * `PORTOLAN_SOCKET=native|js` overrides the choice; see socket-layer.ts for the contract.
 */
import { JsSocketLayer } from './js-layer.js';
import { loadNative, NativeSocketLayer } from './native-layer.js';
import type { SocketLayer, SocketLayerOptions } from './socket-layer.js';

export type SocketLayerKind = 'native' | 'js';

/** Options for `createSocketLayer`: the layer options plus which implementation to prefer. */
export interface CreateSocketLayerOptions extends SocketLayerOptions {
  /** Preferred implementation; `PORTOLAN_SOCKET` wins over it. Default: native when available. */
  prefer?: SocketLayerKind;
  /** Native only: probe threads inside the addon (default: one per core, at most 4). */
  threads?: number;
}

/** A user-facing configuration error with a stable code. */
export class SocketLayerError extends Error {
  constructor(
    readonly code: 'ERR_PORTOLAN_SOCKET_ENV' | 'ERR_PORTOLAN_NATIVE_MISSING',
    message: string,
  ) {
    super(message);
    this.name = 'SocketLayerError';
  }
}

/** Whether the native layer can be used here, and if not, why (for `--version -v` and errors). */
export function nativeStatus(): { available: boolean; reason?: string } {
  const { binding, error } = loadNative();
  return binding ? { available: true } : { available: false, reason: error?.message ?? 'unknown' };
}

/** Create the socket layer for a scan. Throws SocketLayerError when PORTOLAN_SOCKET asks for the impossible. */
export function createSocketLayer(opts: CreateSocketLayerOptions): SocketLayer {
  const forced = process.env.PORTOLAN_SOCKET;
  if (forced !== undefined && forced !== '' && forced !== 'native' && forced !== 'js') {
    throw new SocketLayerError('ERR_PORTOLAN_SOCKET_ENV', `PORTOLAN_SOCKET must be "native" or "js", not ${JSON.stringify(forced)}`);
  }
  const want: SocketLayerKind | undefined = forced === 'native' || forced === 'js' ? forced : opts.prefer;
  if (want === 'js') return new JsSocketLayer(opts);
  const { binding, error } = loadNative();
  if (binding) return new NativeSocketLayer(binding, opts, opts.threads);
  if (forced === 'native') {
    throw new SocketLayerError(
      'ERR_PORTOLAN_NATIVE_MISSING',
      `PORTOLAN_SOCKET=native but the native connect addon is unavailable (${error?.message ?? 'unknown'}); run "npm rebuild portolan" on Linux or unset PORTOLAN_SOCKET`,
    );
  }
  return new JsSocketLayer(opts);
}
