import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FRONT_COMPILERS, compileFront, isElf, placeFront } from './front.ts';

const dir = mkdtempSync(join(tmpdir(), 'flox-front-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const source = join(dir, 'hello.c');
writeFileSync(source, '#include <unistd.h>\nint main(void) { return write(1, "front\\n", 6) == 6 ? 0 : 1; }\n');

/** Whether an ELF executable asks for a program interpreter (PT_INTERP): a dynamic one does. */
function hasInterpreter(path: string): boolean {
  const elf = readFileSync(path);
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return true;
  return false;
}

describe('compileFront', () => {
  it.each(FRONT_COMPILERS.map((cc) => [cc]))('with %s: a static program that runs, written atomically', async (cc) => {
    const out = join(dir, `front-${cc}`);
    expect(await compileFront(source, out, [cc])).toBe(out);
    expect(await isElf(out)).toBe(true);
    expect(hasInterpreter(out)).toBe(false);
    expect(execFileSync(out, { env: {} }).toString()).toBe('front\n');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('takes the next compiler when one is not installed', async () => {
    const out = join(dir, 'front-fallback');
    await compileFront(source, out, ['flox-no-such-cc', 'cc']);
    expect(execFileSync(out).toString()).toBe('front\n');
  });

  it('no compiler at all: FLOXK8S_LAYOUT_FRONT_BUILD naming what was tried; nothing written', async () => {
    const out = join(dir, 'front-none');
    const error = await compileFront(source, out, ['flox-no-such-cc', 'flox-nor-this']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_LAYOUT_FRONT_BUILD', message: expect.stringContaining('tried flox-no-such-cc, flox-nor-this') });
    expect(existsSync(out)).toBe(false);
  });

  it("a source that does not compile: FLOXK8S_LAYOUT_FRONT_BUILD with the compiler's words; no temporary file left", async () => {
    const bad = join(dir, 'bad.c');
    writeFileSync(bad, 'int main(void) { return undeclared_thing; }\n');
    const out = join(dir, 'front-bad');
    const error = await compileFront(bad, out, ['cc']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLOXK8S_LAYOUT_FRONT_BUILD', message: expect.stringContaining('undeclared_thing') });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('placeFront', () => {
  it('copies a prebuilt ELF front; a prebuilt file that is not ELF is compiled over instead', async () => {
    const prebuilt = join(dir, 'prebuilt-front');
    await compileFront(source, prebuilt, ['cc']);
    const dest = join(dir, 'placed');
    expect(await placeFront(dest, { prebuilt, source: undefined, fromSource: false, required: true })).toBe(dest);
    expect(readFileSync(dest).equals(readFileSync(prebuilt))).toBe(true);
    const notElf = join(dir, 'not-elf');
    writeFileSync(notElf, '#!/bin/sh\necho impostor\n');
    expect(await placeFront(join(dir, 'placed-2'), { prebuilt: notElf, source, fromSource: false, required: true })).toBe(join(dir, 'placed-2'));
    expect(execFileSync(join(dir, 'placed-2')).toString()).toBe('front\n');
  });

  it('nothing to place: undefined when optional, FLOXK8S_LAYOUT_FRONT_BUILD when required', async () => {
    expect(await placeFront(join(dir, 'none'), { prebuilt: undefined, source: undefined, fromSource: false, required: false })).toBeUndefined();
    await expect(placeFront(join(dir, 'none'), { prebuilt: undefined, source: undefined, fromSource: false, required: true })).rejects.toMatchObject({ code: 'FLOXK8S_LAYOUT_FRONT_BUILD' });
    const bad = join(dir, 'bad-2.c');
    writeFileSync(bad, 'not C at all\n');
    expect(await placeFront(join(dir, 'none'), { prebuilt: undefined, source: bad, fromSource: true, required: false })).toBeUndefined();
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});
