/**
 * Small helpers every host (worker, Node runner) needs: an error's message,
 * and a wait for the next macrotask.
 */

/** The message of an error, or the thrown value as text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

let taskChannel: { port: MessagePort; waiters: (() => void)[]; ref: () => void } | null = null;

/**
 * Resolves after one macrotask. Work that resolves at once (the CPU backend,
 * onnxruntime-web's generation) would otherwise run in microtasks and leave a
 * worker deaf to messages (a cancel, an IndexedDB write completing, a
 * heartbeat) until it ends; awaiting this now and then lets them in. (A
 * MessageChannel, unlike setTimeout, is not clamped to 4 ms.)
 */
export function nextTask(): Promise<void> {
  if (!taskChannel) {
    const channel = new MessageChannel();
    const waiters: (() => void)[] = [];
    // Node: the port keeps the process alive only while someone waits on it
    // (an idle port must not hold the runner open; a waited-on one must, or
    // Node exits mid-generation with "unsettled top-level await").
    const port1 = channel.port1 as MessagePort & { ref?: () => void; unref?: () => void };
    port1.onmessage = () => {
      waiters.shift()?.();
      if (waiters.length === 0) port1.unref?.();
    };
    port1.unref?.();
    taskChannel = { port: channel.port2, waiters, ref: () => port1.ref?.() };
  }
  const { port, waiters, ref } = taskChannel;
  return new Promise((resolve) => {
    waiters.push(resolve);
    ref();
    port.postMessage(null);
  });
}
