/**
 * Runs identifications with bounded concurrency. The scan hands over connected sockets faster than
 * they can be identified; a few wait with their socket open (the greeting is not lost), the rest
 * give their socket back and reconnect when their turn comes, so file descriptors stay bounded
 * however many ports are open.
 */
import type { Service } from '../core/model.js';
import { identify, type DetectOptions, type IdentifyInput } from './identify.js';

interface Job {
  input: IdentifyInput;
  resolve: (s: Service) => void;
}

export class DetectionQueue {
  #running = 0;
  readonly #waiting: Job[] = [];
  /** Jobs waiting with their socket still open. */
  #heldSockets = 0;
  #idle: (() => void)[] = [];
  readonly #abort = new AbortController();

  constructor(
    private readonly options: DetectOptions,
    /** Ports identified at the same time. */
    private readonly concurrency: number,
    /** Waiting jobs allowed to keep their connection open. */
    private readonly maxHeld: number,
  ) {}

  /** Identify one port; resolves when done (never rejects). */
  submit(input: IdentifyInput): Promise<Service> {
    return new Promise((resolve) => {
      const job: Job = { input, resolve };
      if (this.#running < this.concurrency) {
        this.#start(job);
        return;
      }
      if (input.socket) {
        if (this.#heldSockets < this.maxHeld) this.#heldSockets++;
        else {
          input.socket.destroy();
          delete job.input.socket;
        }
      }
      this.#waiting.push(job);
    });
  }

  get pending(): number {
    return this.#running + this.#waiting.length;
  }

  /** Resolves once nothing is running or waiting. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stop: running identifications end at once with what they have; waiting ones start and end the same way. */
  abort(): void {
    this.#abort.abort();
  }

  #start(job: Job): void {
    this.#running++;
    void identify(job.input, this.options, this.#abort.signal).then(
      (service) => this.#done(job, service),
      () => this.#done(job, { name: 'unknown', method: 'table', confidence: 0, cpe: [] }),
    );
  }

  #done(job: Job, service: Service): void {
    this.#running--;
    job.resolve(service);
    const next = this.#waiting.shift();
    if (next) {
      if (next.input.socket) this.#heldSockets--;
      this.#start(next);
    }
    if (this.pending === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
    }
  }
}
