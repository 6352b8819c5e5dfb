/**
 * Hand-written types for the part of the npm package `x11` (4.2.2, plain JavaScript, no typings)
 * that the in-process X11 layer uses. Only what we call is declared; field names are the package's.
 */
import type { EventEmitter } from 'node:events';

/** An X protocol error as the package reports it (the `error` field is the X error code, 10 = BadAccess). */
export interface XProtocolError extends Error {
  error: number;
  seq: number;
  badParam: number;
  majorOpcode: number;
  minorOpcode: number;
}

/**
 * A request callback. The package calls it with an error or with (null, reply); for a request without
 * a reply, once the server got past it. Returning true from an error call marks the error handled
 * (otherwise the package also emits it as 'error' on the client).
 */
export type XCallback<T> = (err: XProtocolError | null | undefined, reply: T) => boolean | undefined;

/** Core events, flattened: which fields are set depends on `name`. */
export interface XEvent {
  type: number;
  name?: string;
  seq: number;
  time?: number;
  /** KeyPress/KeyRelease: the keycode */
  keycode?: number;
  /** KeyPress/KeyRelease: the modifier state before the event (the package calls it `buttons`) */
  buttons?: number;
  /** the event window (key events, PropertyNotify) */
  wid?: number;
  /** PropertyNotify */
  atom?: number;
  /** PropertyNotify: 0 NewValue, 1 Deleted */
  state?: number;
  /** SelectionClear/SelectionRequest */
  owner?: number;
  requestor?: number;
  selection?: number;
  target?: number;
  property?: number;
  /** MappingNotify: 0 Modifier, 1 Keyboard, 2 Pointer */
  request?: number;
}

export interface XScreen {
  root: number;
  [field: string]: unknown;
}

/** The `display` object handed to createClient's callback. */
export interface XDisplayInfo {
  client: XClient;
  screen: XScreen[];
  min_keycode: number;
  max_keycode: number;
  /** in 4-byte units; after BIG-REQUESTS the extended maximum, which the package's core requests do not use */
  max_request_length: number;
  [field: string]: unknown;
}

export interface XPropertyReply {
  type: number;
  format: number;
  bytesAfter: number;
  data: Buffer;
}

/** The XClient object. */
export interface XClient extends EventEmitter {
  display: XDisplayInfo;
  AllocID(): number;
  ReleaseID(id: number): void;
  require(ext: 'xtest', cb: (err: Error | null, ext: XTestExt) => void): void;
  require(ext: 'xkb', cb: (err: Error | null, ext: XkbExt) => void): void;
  close(cb?: (err?: Error) => void): void;
  terminate(): void;

  InternAtom(onlyIfExists: boolean, name: string, cb: XCallback<number>): void;
  CreateWindow(
    id: number,
    parent: number,
    x: number,
    y: number,
    w: number,
    h: number,
    border: number,
    depth: number,
    cls: number,
    visual: number,
    values: Record<string, number>,
    cb?: XCallback<void>,
  ): void;
  ChangeWindowAttributes(wid: number, values: Record<string, number>, cb?: XCallback<void>): void;
  DestroyWindow(wid: number, cb?: XCallback<void>): void;
  /** mode 0 replace, 1 prepend, 2 append; format 8/16/32 */
  ChangeProperty(mode: number, wid: number, prop: number, type: number, format: number, data: Buffer | number[], cb?: XCallback<void>): void;
  DeleteProperty(wid: number, prop: number, cb?: XCallback<void>): void;
  /** offset and length in 4-byte units; type 0 = AnyPropertyType */
  GetProperty(del: number, wid: number, prop: number, type: number, longOffset: number, longLength: number, cb: XCallback<XPropertyReply>): void;
  SetSelectionOwner(owner: number, selection: number, time: number, cb?: XCallback<void>): void;
  GetSelectionOwner(selection: number, cb: XCallback<number>): void;
  ConvertSelection(requestor: number, selection: number, target: number, property: number, time: number, cb?: XCallback<void>): void;
  SendEvent(destination: number, propagate: number, eventMask: number, event: Record<string, unknown> | Buffer, cb?: XCallback<void>): void;
  GrabKey(wid: number, ownerEvents: number, modifiers: number, key: number, pointerMode: number, keybMode: number, cb?: XCallback<void>): void;
  UngrabKey(wid: number, key: number, modifiers: number, cb?: XCallback<void>): void;
  GetInputFocus(cb: XCallback<{ focus: number; revertTo: number }>): void;
  QueryTree(wid: number, cb: XCallback<{ root: number; parent: number; children: number[] }>): void;
  /** `child`: the child of `wid` the pointer is in (0: none) */
  QueryPointer(wid: number, cb: XCallback<{ root: number; child: number }>): void;
  /** revertTo: 0 None, 1 PointerRoot, 2 Parent; the time is CurrentTime */
  SetInputFocus(wid: number, revertTo: number): void;
  /** 32 bytes: bit k set = keycode k is down */
  QueryKeymap(cb: XCallback<Buffer>): void;
  /** rows of keysyms, one row per keycode from `first` */
  GetKeyboardMapping(first: number, count: number, cb: XCallback<number[][]>): void;
  /** `keysyms`: keycodeCount × keysymsPerKeycode values, flat */
  ChangeKeyboardMapping(first: number, keysymsPerKeycode: number, keysyms: number[], cb?: XCallback<void>): void;
  /** 8 rows (Shift, Lock, Control, Mod1…Mod5) of keycodes, 0 = unused slot */
  GetModifierMapping(cb: XCallback<number[][]>): void;

  /** internals that the package's own extensions use to send raw requests */
  seq_num: number;
  replies: Record<number, [((buf: Buffer, opt: number) => unknown) | null | undefined, XCallback<unknown>]>;
  pack_stream: { put(b: Buffer): void; submit(expectsReply?: boolean): boolean };
}

export interface XTestExt {
  majorOpcode: number;
  KeyPress: number;
  KeyRelease: number;
  /** no reply; errors are emitted on the client */
  FakeInput(type: number, keycode: number, time: number, wid: number, x: number, y: number): void;
}

export interface XkbExt {
  majorOpcode: number;
  UseExtension(major: number, minor: number, cb: XCallback<{ supported: number; serverMajor: number; serverMinor: number }>): void;
}

export interface X11Module {
  createClient(options: { display?: string; disableBigRequests?: boolean }, cb: (err: Error | undefined, display: XDisplayInfo) => void): XClient;
}
