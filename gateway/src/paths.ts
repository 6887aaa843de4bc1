const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;
const ENCODED_SEPARATOR = /%(2f|5c)/i;

/**
 * The path of a request target without its query. An absolute-form target
 * (`GET http://other.example/products`) loses its scheme and authority: the
 * gateway always answers from its own upstreams, never from the named host.
 */
export function targetPath(url: string): string {
  const withoutOrigin = url.replace(ABSOLUTE_FORM, '');
  const query = withoutOrigin.indexOf('?');
  const path = query === -1 ? withoutOrigin : withoutOrigin.slice(0, query);
  return path === '' ? '/' : path;
}

/** The target with an absolute-form origin removed (path and query kept byte for byte). */
export function originFormOf(url: string): string {
  const withoutOrigin = url.replace(ABSOLUTE_FORM, '');
  return withoutOrigin.startsWith('/') ? withoutOrigin : `/${withoutOrigin}`;
}

/**
 * Why a path must not be forwarded, or `undefined` when it is safe as is.
 * Refuses whatever could make an upstream resolve it outside the prefix the
 * gateway routed on: dot segments (also percent-encoded or with `;params`),
 * encoded or raw backslashes and slashes inside a segment, control characters
 * such as NUL, and broken percent-encoding.
 */
export function unsafePathReason(path: string): string | undefined {
  if (!path.startsWith('/')) return 'path must start with /';
  if (path.includes('\\') || hasControlCharacter(path)) return 'path contains a forbidden character';
  if (ENCODED_SEPARATOR.test(path)) return 'path contains an encoded slash or backslash';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'path has malformed percent-encoding';
  }
  if (decoded.includes('\\') || hasControlCharacter(decoded)) return 'path contains a forbidden character';
  for (const segment of decoded.split('/')) {
    const name = segment.split(';', 1)[0];
    if (name === '.' || name === '..') return 'path must not contain dot segments';
  }
  return undefined;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
