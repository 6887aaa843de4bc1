import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { codeForStatus, errorEnvelope } from '@mini/shared';

/**
 * Requests Node cannot even parse (a NUL in the target, a broken header line,
 * oversized headers) are answered in the same error envelope as everything
 * else, instead of Fastify's default body, and the connection is closed.
 */
export function answerClientErrorsWithEnvelope(server: Server): void {
  server.removeAllListeners('clientError');
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message = status === 431 ? 'request headers are too large' : status === 408 ? 'request timed out' : 'malformed HTTP request';
    const body = JSON.stringify(errorEnvelope(codeForStatus(status), message));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  });
}
