/** The engine's options and statistics (see engine.ts). */
import type { Socket } from 'node:net';
import type { HostResult, PortResult } from '../core/model.js';
import type { ScanTarget } from './host-task.js';
import type { SocketLayer, SocketLayerOptions } from './socket-layer.js';
import type { TimingProfile } from './timing.js';

export interface OpenConnection {
  target: ScanTarget;
  port: number;
  socket: Socket;
}

export interface EngineOptions {
  ports: Uint16Array;
  timing: TimingProfile;
  /** Ports for host discovery; empty or undefined = -Pn (every host is up). */
  discoveryPorts?: Uint16Array;
  maxRetries: number;
  minRate?: number;
  maxRate?: number;
  /** Hard cap on sockets open at once; the caller derives it from the fd limit. */
  fdCap: number;
  /** Hosts scanned at the same time; default derived from the port count. */
  hostGroup?: number;
  createLayer: (opts: SocketLayerOptions) => SocketLayer;
  onPort?: (host: ScanTarget, result: PortResult) => void;
  onHost: (result: HostResult) => void;
  /** When set, open ports are handed over connected instead of being reset. */
  onOpen?: (conn: OpenConnection) => void;
  signal?: AbortSignal;
  /** Receives a getter for live statistics (progress display). */
  statsRef?: (get: () => EngineStats) => void;
}

export interface EngineStats {
  probesSent: number;
  hostsDone: number;
  hostsUp: number;
  portsDone: number;
  /** Times our own limits (EMFILE, ephemeral ports, …) made the engine back off. */
  localLimitHits: number;
  /** Times a stalled event loop made the engine shrink its window. */
  lagBackoffs: number;
  interrupted: boolean;
  socketLayer: 'native' | 'js';
}

