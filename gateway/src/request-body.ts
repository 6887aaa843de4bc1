import type { Readable } from 'node:stream';
import { AppError } from '@mini/shared';

/** 413, closing the connection: the rest of the body is not worth reading. */
export function payloadTooLarge(limit: number): AppError {
  return new AppError(`request body is larger than ${limit} bytes`, {
    status: 413,
    code: 'payload_too_large',
    headers: { connection: 'close' },
  });
}

/**
 * Reads a whole request body, at most `limit` bytes, before anything goes upstream. A slow
 * client then holds only its own socket here (until the server's request deadline cuts it
 * off), never a connection to a service; and a read body can be sent again to another replica.
 */
export function readBody(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit) {
        chunks.push(chunk);
        return;
      }
      // Let the rest drain (the connection closes after the 413) rather than reset it unanswered.
      body.off('data', onData);
      body.resume();
      reject(payloadTooLarge(limit));
    };
    body.on('data', onData);
    body.once('end', () => resolve(Buffer.concat(chunks, received)));
    body.once('error', reject);
    // The client hung up mid-body: nothing to answer, nothing to forward.
    body.once('close', () => reject(new Error('the client aborted the request body')));
  });
}
