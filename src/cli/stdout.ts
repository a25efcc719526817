/**
 * `portolan services | head`, `portolan import … -oJ - | head`: a reader that stops early closes
 * the pipe, and Node then reports EPIPE as an unhandled 'error' event with a stack trace. What was
 * printed is what the reader wanted; the work itself (an import's transaction) still completes.
 */
let installed = false;
let closed = false;

/** From now on, a closed stdout is ignored (and remembered) instead of crashing the process. */
export function tolerateClosedStdout(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      closed = true;
      return;
    }
    throw err;
  });
}

/** True once a write to stdout failed because the reader went away. */
export function stdoutClosed(): boolean {
  return closed;
}
