/** The daemon's socket commands for dictation (no imports: the quick CLI path loads only this). */
export const HOST_ACTIONS = ['toggle', 'begin', 'end', 'press', 'release', 'cancel', 'repaste', 'retry'] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];
