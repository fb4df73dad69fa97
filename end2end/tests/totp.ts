import { createHmac } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Decode(input: string): Buffer {
  const clean = input.replace(/[\s=]/g, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = ALPHABET.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function step(at = Date.now()): number {
  return Math.floor(at / 1000 / 30);
}

/** RFC 6238 TOTP (SHA1, 6 digits, 30 s), computed independently of the server. */
export function totp(secretBase32: string, atStep = step()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(atStep));
  const mac = createHmac("sha1", base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}

/** Waits until a step later than `used` begins (a code is accepted only once). */
export async function nextStepAfter(used: number): Promise<number> {
  while (step() <= used) {
    await new Promise((r) => setTimeout(r, 250));
  }
  return step();
}
