/** Telling the user: a desktop notification where one can be shown (the session bus's notification server, else notify-send or osascript), always a log line. */
import { execFile, spawnSync } from 'node:child_process';
import { notificationSender } from './desktop/notifications.js';

export function notifier(enabled: boolean, log: (line: string) => void): (message: string) => void {
  let tool: 'notify-send' | 'osascript' | undefined;
  if (enabled && process.platform === 'linux' && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
    if (spawnSync('notify-send', ['--version'], { stdio: 'ignore' }).status === 0) tool = 'notify-send';
  } else if (enabled && process.platform === 'darwin') tool = 'osascript';
  // org.freedesktop.Notifications in-process (no process per message); the tools when it cannot be reached
  const viaBus = enabled && process.platform === 'linux' && process.env.DBUS_SESSION_BUS_ADDRESS ? notificationSender() : undefined;
  const viaTool = (message: string) => {
    if (tool === 'notify-send') execFile('notify-send', ['-a', 'prism-dictate', 'prism-dictate', message], () => undefined);
    else if (tool === 'osascript') execFile('osascript', ['-e', `display notification ${JSON.stringify(message)} with title "prism-dictate"`], () => undefined);
  };
  return (message: string) => {
    log(message);
    if (viaBus) void viaBus(message).then((shown) => shown || viaTool(message));
    else viaTool(message);
  };
}
