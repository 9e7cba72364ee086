/** Random identifiers that work in browsers and Node (Web Crypto). */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buf);
  let out = '';
  for (let i = 0; i < buf.length; i++) out += HEX[buf[i] as number];
  return out;
}

/** A prefixed id such as `prj_3f9a…`; prefixes make ids self-describing in logs. */
export function newId(prefix: string): string {
  return `${prefix}_${randomHex(12)}`;
}

export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] as number];
  return out;
}
