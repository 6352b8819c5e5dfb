/**
 * The multipart/form-data body of a transcription request, read with busboy as it streams in and
 * bounded as it arrives: a client cannot make the server hold more than `maxBytes` of it.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { ApiError } from './reply.js';

export interface Upload {
  fields: Record<string, string>;
  file?: { bytes: Buffer; filename: string | undefined };
}

const MiB = 1024 * 1024;

export function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    413,
    `the request is larger than this server's limit of ${(maxBytes / MiB).toFixed(maxBytes % MiB ? 1 : 0)} MiB`,
    'invalid_request_error',
    'file',
    'request_too_large',
  );
}

/** Reads the form: the `file` part into memory, other fields as strings; an upload that stops for `stallMs` is 408. */
export function readUpload(req: IncomingMessage, maxBytes: number, stallMs = 30_000): Promise<Upload> {
  const length = Number(req.headers['content-length']);
  if (length > maxBytes) return Promise.reject(tooLarge(maxBytes));
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\b/i.test(type)) {
    return Promise.reject(
      new ApiError(
        415,
        `send the audio as multipart/form-data with a 'file' field (got content-type '${type || 'none'}')`,
        'invalid_request_error',
        null,
        'unsupported_media_type',
      ),
    );
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 16, parts: 24, fieldSize: 64 * 1024 } });
  } catch (e) {
    return Promise.reject(new ApiError(400, `malformed multipart/form-data: ${(e as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Upload['file'];
    let failed = false;
    let seen = 0;
    // a client that sends part of a body and then nothing would hold its slot until Node's 300 s
    let stalled: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (stalled) {
        stalled.refresh();
        return;
      }
      stalled = setTimeout(() => fail(new ApiError(408, `the upload stopped: no data for ${stallMs / 1000} s`, 'invalid_request_error', 'file', 'request_timeout')), stallMs);
    };
    arm();
    const fail = (e: ApiError): void => {
      clearTimeout(stalled);
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      parser.destroy();
      reject(e);
    };
    // The header may be absent (chunked) or lie: count what really arrives.
    req.on('data', (chunk: Buffer) => {
      arm();
      seen += chunk.length;
      if (seen > maxBytes) fail(tooLarge(maxBytes));
    });
    req.on('aborted', () => fail(new ApiError(400, 'the client went away during the upload')));
    parser.on('file', (name, stream, info) => {
      // A body that ends inside a part (a client gone, a missing closing boundary) errors the part's
      // stream: without a listener that error would be thrown and take the server down.
      stream.on('error', (e: Error) => fail(new ApiError(400, `the upload ended early: ${e.message}`)));
      if (name !== 'file') {
        stream.resume();
        fail(new ApiError(400, `unexpected file field '${name}': send the audio as 'file'`, 'invalid_request_error', name));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(tooLarge(maxBytes)));
      stream.on('end', () => {
        file = { bytes: Buffer.concat(chunks), filename: info.filename };
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new ApiError(400, `the '${name}' field is longer than 64 KiB`, 'invalid_request_error', name));
      fields[name] = value;
    });
    parser.on('filesLimit', () => fail(new ApiError(400, 'send one audio file per request', 'invalid_request_error', 'file')));
    parser.on('fieldsLimit', () => fail(new ApiError(400, 'too many form fields')));
    parser.on('partsLimit', () => fail(new ApiError(400, 'too many form parts')));
    parser.on('error', (e) => fail(new ApiError(400, `malformed multipart/form-data: ${(e as Error).message}`)));
    parser.on('close', () => {
      clearTimeout(stalled);
      if (!failed) resolve({ fields, file });
    });
    req.pipe(parser);
  });
}
