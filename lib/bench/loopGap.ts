/** The longest the event loop went without turning while some work ran (the JS thread blocked). */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Runs `work` and measures the longest event-loop delay meanwhile, in ms (1 ms resolution). */
export async function withLoopGap<T>(work: () => Promise<T>): Promise<{ value: T; gapMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  try {
    const value = await work();
    // through the timers phase once more, so that a block at the very end is counted too
    await new Promise((resolve) => setTimeout(resolve, 0));
    return { value, gapMs: delay.max / 1e6 };
  } finally {
    delay.disable();
  }
}

/** The same measurement as source text, for the peers' runner scripts (each in its own process). */
export const LOOP_GAP_SOURCE = `import { monitorEventLoopDelay } from 'node:perf_hooks';
const withLoopGap = async (work) => {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const value = await work();
  await new Promise((resolve) => setTimeout(resolve, 0));
  delay.disable();
  return { value, gapMs: delay.max / 1e6 };
};
`;
