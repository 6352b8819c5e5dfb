/**
 * What `prism-dictate config init` writes: the settings people change first, each with a comment,
 * at their defaults (everything not listed keeps its default too; `prism-dictate config` prints all).
 * JSON with comments, which the loader reads.
 */
export const STARTER_CONFIG = `// prism-dictate configuration. Every setting left out keeps its default;
// \`prism-dictate config\` prints the effective one, \`prism-dictate config keys\` lists them all.
{
  // a model name (prism-dictate models list; pulled on first start) or a ggml file
  "model": "base.en",
  // auto: CUDA when this build has it and a GPU works, else the CPU; or "cuda" / "cpu"
  "gpu": "auto",
  "hotkey": {
    // e.g. "Ctrl+Alt+Space"; the combination is grabbed, the focused window never sees it
    "keys": "Meta+Alt+V",
    // hybrid: hold to talk, or tap to dictate hands-free until the next tap;
    // "hold": push-to-talk only; "toggle": every press starts or stops
    "mode": "hybrid"
  },
  "audio": {
    // the microphone: leave it out for the system default; or a PortAudio number/name, or the sound
    // server's source name or part of its description ("USB"): see prism-dictate devices
    // "device": "USB",
    // audio kept from before the hotkey, so the first word is never cut
    "preRollMs": 300
  },
  "vad": {
    // a pause this long ends a phrase (hands-free: the phrase is pasted then)
    "hangoverMs": 500,
    // hands-free dictation stops after this much silence (0: never)
    "latchSilenceMs": 10000
  },
  "output": {
    // paste (clipboard + paste keys, the clipboard put back after), type, clipboard or stdout
    "method": "paste",
    // the paste keystroke for every window; unset: ctrl+v (cmd+v on macOS), and on X11
    // ctrl+shift+v in terminals (terminalPasteKeys), shift+insert in xterm, by the window's class
    // "pasteKeys": "ctrl+shift+v",
    "trailingSpace": true
  },
  "transcription": {
    // the spoken language ("auto" detects it; needs a multilingual model, not .en)
    "language": "en",
    // names and words Whisper should spell your way
    // "prompt": "Kubernetes, PostgreSQL, prism-whisper",
    // spoken phrases replaced in the text
    "replacements": {}
  },
  "dashboard": {
    // the local dashboard and /metrics (prism-dictate dashboard prints its URL)
    "enabled": true
  },
  "log": {
    // the log never holds what you said unless this is true
    "text": false
  }
}
`;
