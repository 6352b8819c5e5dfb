/** Telling the user: a desktop notification where one can be shown (notify-send, osascript), always a log line. */
import { execFile, spawnSync } from 'node:child_process';

export function notifier(enabled: boolean, log: (line: string) => void): (message: string) => void {
  let tool: 'notify-send' | 'osascript' | undefined;
  if (enabled && process.platform === 'linux' && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
    if (spawnSync('notify-send', ['--version'], { stdio: 'ignore' }).status === 0) tool = 'notify-send';
  } else if (enabled && process.platform === 'darwin') tool = 'osascript';
  return (message: string) => {
    log(message);
    if (tool === 'notify-send') execFile('notify-send', ['-a', 'prism-dictate', 'prism-dictate', message], () => undefined);
    else if (tool === 'osascript') execFile('osascript', ['-e', `display notification ${JSON.stringify(message)} with title "prism-dictate"`], () => undefined);
  };
}
