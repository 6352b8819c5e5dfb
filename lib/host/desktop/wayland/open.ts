/**
 * Finds the Wayland desktop's parts for this compositor and this config (see desktop.ts).
 */
import type { Config } from '../../../config/schema.js';
import { systemClipboard } from '../../output.js';
import { sessionLine } from '../session.js';
import { WaylandDesktop } from './desktop.js';

export async function openWayland(c: Config, _log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<WaylandDesktop> {
  const clipboard = await systemClipboard();
  return new WaylandDesktop({
    description: sessionLine('wayland', env),
    compositor: 'the compositor',
    keysProblem: 'no keystroke tool yet',
    clipboard,
    binding: async () => ({ found: false, pressRelease: false, detail: 'not looked for' }),
    bindingFix: 'bind prism-dictate toggle to a shortcut in your desktop settings',
  });
}
