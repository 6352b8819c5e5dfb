/**
 * The prism-dictate configuration: one schema (zod) that gives every setting its type, range and
 * default, so a bad value is refused with a message naming the setting, and `prism-dictate config`
 * can print the effective result.
 */
import { z } from 'zod';
import { parseCombo } from './keys.js';

/**
 * A duration in ms, bounded: every duration feeds a timer, and Node clamps a delay above 2^31-1 ms
 * (or below 1) to 1 ms, so an absurd value would fire at once instead of never.
 */
const ms = (min: number, max: number, def: number) => z.number().int().min(min).max(max).default(def);

export const hotkeySchema = z
  .object({
    enabled: z.boolean().default(true).describe('the global hotkey; off leaves only the socket commands (Wayland, Talon, AutoHotkey)'),
    keys: z
      .string()
      .default('Meta+Alt+V')
      .superRefine((k, ctx) => {
        const c = parseCombo(k);
        if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: `"${k}" ${c}` });
      })
      .describe('the combination: modifiers (Ctrl, Alt, Shift, Meta = Super = the Windows key) and one key, e.g. "Ctrl+Alt+Space", "F9"'),
    mode: z
      .enum(['hold', 'toggle', 'hybrid'])
      .default('hybrid')
      .describe(
        'hold: push-to-talk (only the release ends it); toggle: press to start, press again to stop (or vad.latchSilenceMs of silence); hybrid: a hold is push-to-talk, a quick tap latches like toggle',
      ),
    holdMs: ms(100, 3000, 500).describe('hybrid: a press held this long is push-to-talk'),
  })
  .strict();

export const audioSchema = z
  .object({
    device: z
      .union([z.string().min(1), z.number().int().min(0)])
      .optional()
      .describe("input device id or a part of its name; default: the system's default input"),
    preRollMs: ms(0, 2000, 300).describe('audio kept from before the trigger, so the first word is never cut'),
    bufferSeconds: z.number().int().min(10).max(600).default(60).describe('the ring buffer capture writes into'),
    blockMs: ms(10, 100, 20).describe('capture block while recording: shorter ends utterances sooner, longer costs less CPU'),
    idlePeriodMs: z
      .union([z.literal(0), z.number().int().min(100).max(1000)])
      .default(250)
      .describe(
        'period of the capture stream that runs while idle, on ALSA (PulseAudio, PipeWire): a blockMs stream joins it while recording. 0: one blockMs stream all the time (more idle CPU; for devices that cannot be opened twice)',
      ),
  })
  .strict();

export const vadSchema = z
  .object({
    mode: z
      .union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
      .default(3)
      .describe('WebRTC VAD aggressiveness, 0 (least) to 3 (most)'),
    frameMs: z
      .union([z.literal(10), z.literal(20), z.literal(30)])
      .default(20)
      .describe('the frame WebRTC VAD classifies (10, 20 or 30 ms)'),
    hangoverMs: ms(150, 2000, 500).describe('a pause this long ends a phrase: a latched dictation pastes it, a held one transcribes it ahead'),
    minUtteranceMs: ms(100, 5000, 300).describe('a push-to-talk press shorter than this (an accidental tap) is dropped'),
    maxUtteranceMs: ms(1000, 300_000, 30_000).describe('a phrase longer than this is cut there (the dictation goes on)'),
    noSpeechTimeoutMs: ms(1000, 60_000, 8000).describe('a latched dictation in which nothing at all was said stops listening after this long'),
    latchSilenceMs: z
      .union([z.literal(0), z.number().int().min(1000).max(3_600_000)])
      .default(10_000)
      .describe('a latched dictation ends after this much silence following its last speech; 0: only a press ends it'),
    minSpeechMs: ms(0, 5000, 200).describe('voiced time an utterance needs to be transcribed at all (Whisper invents text on silence)'),
  })
  .strict();

export const outputSchema = z
  .object({
    method: z.enum(['paste', 'type', 'clipboard', 'stdout']).default('paste').describe('paste: clipboard + paste keystroke; type: keystrokes; clipboard: only copy; stdout: print'),
    pasteKeys: z
      .string()
      .optional()
      .superRefine((k, ctx) => {
        const c = k === undefined ? undefined : parseCombo(k);
        if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: `"${k}" ${c}` });
      })
      .describe(
        'the paste keystroke for every window (default: cmd+v on macOS; ctrl+v elsewhere, except on X11, where it follows the focused window: terminalPasteKeys in terminals, shift+insert in xterm and urxvt)',
      ),
    terminalPasteKeys: z
      .string()
      .default('ctrl+shift+v')
      .superRefine((k, ctx) => {
        const c = parseCombo(k);
        if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: `"${k}" ${c}` });
      })
      .describe(
        'X11, pasteKeys not set: the paste keystroke when the focused window is a terminal, known by its WM_CLASS (GNOME Terminal, Konsole, kitty, Alacritty, …); shift+insert also serves the text as the PRIMARY selection',
      ),
    restoreClipboard: z.boolean().default(true).describe('put the previous clipboard back after pasting, unless the user copied something meanwhile'),
    restoreDelayMs: ms(50, 5000, 400).describe('how long after the paste keystroke the previous clipboard is put back (the window reads the clipboard meanwhile)'),
    trailingSpace: z.boolean().default(true).describe('a space after each delivered text, so the next dictation does not run into it'),
  })
  .strict();

export const transcriptionSchema = z
  .object({
    language: z.string().min(2).default('en').describe('the spoken language\'s code; "auto" detects it (needs a multilingual model, not .en)'),
    prompt: z.string().optional().describe('custom vocabulary: names and terms the model should prefer'),
    replacements: z.record(z.string().min(1), z.string()).default({}).describe('whole-word, case-insensitive replacements applied to the text'),
    previousText: z
      .boolean()
      .default(true)
      .describe(
        "each phrase after a pause gets the previous phrase's text as its prompt, so wording and spelling stay consistent across pauses; false transcribes every phrase alone (Whisper's condition_on_previous_text off), for a model that repeats itself",
      ),
  })
  .strict();

export const historySchema = z
  .object({
    enabled: z.boolean().default(true).describe("keep each dictation's audio and text in the history folder (written before it is transcribed); false keeps nothing on disk"),
    keep: z.number().int().min(0).max(1_000_000).default(500).describe('dictations kept (audio + record); 0 keeps none once transcribed'),
    maxAgeDays: z.number().min(0).max(3650).default(30).describe('0: no age limit'),
  })
  .strict();

export const dashboardSchema = z
  .object({
    enabled: z.boolean().default(true).describe('the live page and /metrics, served by the daemon on 127.0.0.1 behind a random token'),
    port: z.number().int().min(0).max(65535).default(8179).describe('a fixed port, so the URL survives restarts (taken: a free one instead, said in the log); 0 picks a free port'),
    token: z
      .string()
      .min(16)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces (it travels in an Authorization header)')
      .optional()
      .describe('a fixed token (16+ characters); otherwise one is made at the first start and kept in dashboard-token in the home'),
    showText: z.boolean().default(true).describe('show dictated text on the page (it can be hidden there too)'),
  })
  .strict();

export const remoteSchema = z
  .object({
    url: z
      .string()
      .optional()
      .superRefine((u, ctx) => {
        if (u !== undefined && !/^https?:\/\/[^/\s]+/.test(u)) ctx.addIssue({ code: 'custom', message: `"${u}" is not an http(s)://host:port address` });
      })
      .describe('a remote transcription server (prism-dictate serve, or any OpenAI-compatible one): http(s)://host:port'),
    token: z
      .string()
      .min(1)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces (it travels in an Authorization header)')
      .optional()
      .describe('its bearer token'),
    fallback: z.boolean().default(true).describe('when the remote engine fails, transcribe on the local service instead (which then loads the model too)'),
    timeoutMs: ms(1000, 600_000, 30_000).describe('a remote request that takes longer fails (and falls back, with remote.fallback)'),
  })
  .strict();

/** `cue: false` (the setting's earlier form) still means off */
export const cueSchema = z.preprocess(
  (v) => (typeof v === 'boolean' ? { enabled: v } : v),
  z
    .object({
      enabled: z.boolean().default(true).describe('a short, quiet tone when recording starts (rising) and stops (falling)'),
      volume: z.number().min(0).max(1).default(0.08).describe('0–1 of full scale'),
    })
    .strict(),
);

export const desktopSchema = z
  .object({
    session: z
      .enum(['auto', 'x11', 'wayland'])
      .default('auto')
      .describe(
        'which desktop path: auto follows the session (WAYLAND_DISPLAY or XDG_SESSION_TYPE=wayland is a Wayland session even with XWayland running: X11 keystrokes, grabs and CLIPBOARD reach X clients only)',
      ),
    keys: z
      .enum(['auto', 'wtype', 'ydotool', 'portal', 'none'])
      .default('auto')
      .describe(
        'Wayland: how keystrokes are sent. auto: wtype where the compositor offers the virtual-keyboard protocol (sway, Hyprland, river, Wayfire), ydotool (uinput) where it is set up (GNOME, KDE), else the RemoteDesktop portal there (GNOME, KDE: the desktop asks once); portal: always the portal; none: never send keystrokes (every dictation is copied, to paste yourself)',
      ),
    hotkey: z
      .enum(['auto', 'compositor', 'portal', 'evdev'])
      .default('auto')
      .describe(
        'Wayland: how the daemon sees the hotkey. auto: the GlobalShortcuts portal where the desktop has it, else a binding in the compositor (prism-dictate press/release, or toggle where a desktop reports presses only: prism-dictate hotkey setup); evdev: read the keyboards directly (true press and release on any compositor; needs group input)',
      ),
  })
  .strict();

export const indicatorSchema = z
  .object({
    enabled: z.boolean().default(true).describe('on X11: a small always-on-top window showing listening / transcribing / pasted / no speech, with the input level'),
    position: z.enum(['top', 'bottom']).default('top').describe('where on the screen the X11 indicator stands (centred)'),
  })
  .strict();

export const previewSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'live text while a dictation runs: the phrase being spoken is transcribed again as it grows and shown on the indicator (X11: its last line, settled words solid, the rest dimmed; Wayland: the notification). Only the final text is ever pasted; a preview still running when a phrase ends is aborted before the final is sent. Off by default: on a 2-core CPU the release → text was measured 50–80 ms slower with it on',
      ),
    minIntervalMs: ms(0, 60_000, 300).describe(
      'the least time from the end of one preview to the start of the next; a slow engine is asked less often (at least twice its last decode time apart)',
    ),
  })
  .strict();

export const logSchema = z
  .object({
    text: z.boolean().default(false).describe('write the dictated text into the log line of each dictation (off: only its length)'),
  })
  .strict();

export const configSchema = z
  .object({
    model: z.string().min(1).default('base.en').describe('a model name (prism-dictate models list; pulled on first start) or the path of a ggml file'),
    gpu: z
      .enum(['auto', 'cuda', 'cpu'])
      .default('auto')
      .describe('auto: CUDA when this build has it and a GPU works, else the CPU; cuda: a GPU or fail (then the CPU fallback); cpu'),
    states: z.number().int().min(1).max(16).default(2).describe('inference states: transcriptions that run side by side (each its own CUDA stream on a GPU)'),
    threads: z.number().int().min(1).max(1024).optional().describe('CPU threads for transcription (default: every core)'),
    fallbackModel: z.string().min(1).optional().describe('the model the service falls back to on the CPU'),
    slowMs: z.number().int().min(1).max(600_000).optional().describe('switch to the fallback when requests get slower than slowMs (1 ms … 10 min), slowCount times in a row'),
    slowCount: z.number().int().min(1).default(3).describe('how many slow requests in a row (see slowMs) switch to the fallback'),
    probePrimaryMs: z
      .union([z.literal(0), z.number().int().min(1000).max(3_600_000)])
      .default(300_000)
      .describe('after an automatic fallback, try the primary engine again after this long (1 s … 1 h, doubling up to 1 h); 0: never'),
    hotkey: hotkeySchema.prefault({}),
    audio: audioSchema.prefault({}),
    vad: vadSchema.prefault({}),
    output: outputSchema.prefault({}),
    transcription: transcriptionSchema.prefault({}),
    history: historySchema.prefault({}),
    dashboard: dashboardSchema.prefault({}),
    remote: remoteSchema.prefault({}),
    notify: z.boolean().default(true).describe('a desktop notification (or a log line) when something fails or falls back'),
    cue: cueSchema.prefault({}),
    indicator: indicatorSchema.prefault({}),
    preview: previewSchema.prefault({}),
    desktop: desktopSchema.prefault({}),
    log: logSchema.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.audio.bufferSeconds * 1000 < c.vad.maxUtteranceMs + c.audio.preRollMs + 2000)
      ctx.addIssue({
        code: 'custom',
        path: ['audio', 'bufferSeconds'],
        message: `must hold vad.maxUtteranceMs + audio.preRollMs + 2 s (${Math.ceil((c.vad.maxUtteranceMs + c.audio.preRollMs + 2000) / 1000)} s)`,
      });
    if (c.vad.minUtteranceMs >= c.vad.maxUtteranceMs) ctx.addIssue({ code: 'custom', path: ['vad', 'minUtteranceMs'], message: 'must be below vad.maxUtteranceMs' });
  });

export type Config = z.infer<typeof configSchema>;
