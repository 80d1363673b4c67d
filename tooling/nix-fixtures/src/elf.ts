// Just enough of ELF64 (little-endian, x86-64) to plan a relocation: is a file ELF, does it
// ask for a program interpreter, which libraries does it need and where does it look for
// them. Read with positional reads: a 126 MB Node binary costs a few KiB, not the file.
import { closeSync, openSync, readSync } from 'node:fs';

/** What the dynamic linker needs from one ELF file. */
export interface ElfDynamicInfo {
  /** `PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`; absent for shared libraries and static programs. */
  interpreter?: string;
  /** `DT_NEEDED` sonames, in file order. */
  needed: string[];
  /** `DT_RUNPATH` (or `DT_RPATH`) entries, in order. */
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

/**
 * Reads the dynamic section of `file`; `undefined` when it is not a 64-bit little-endian ELF
 * (scripts, data, other architectures). A static program has no interpreter and no NEEDED.
 */
export function readElfDynamic(file: string): ElfDynamicInfo | undefined {
  const fd = openSync(file, 'r');
  try {
    const read = (offset: number, length: number): Buffer => {
      const buffer = Buffer.alloc(length);
      const got = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, got);
    };
    const header = read(0, 64);
    // \x7fELF, ELFCLASS64, ELFDATA2LSB
    if (header.length < 64 || header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return undefined;
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = read(phoff, phentsize * phnum);
    const loads: Array<{ vaddr: bigint; offset: bigint; filesz: bigint }> = [];
    let dynamic: { offset: number; size: number } | undefined;
    let interpreter: string | undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (at + 56 > table.length) break;
      const type = table.readUInt32LE(at);
      const offset = table.readBigUInt64LE(at + 8);
      const vaddr = table.readBigUInt64LE(at + 16);
      const filesz = table.readBigUInt64LE(at + 32);
      if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
      else if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
      else if (type === PT_INTERP) interpreter = cString(read(Number(offset), Number(filesz)), 0);
    }
    if (dynamic === undefined) return { ...(interpreter !== undefined ? { interpreter } : {}), needed: [], runpath: [] };

    const entries = read(dynamic.offset, dynamic.size);
    const tags: Array<[bigint, bigint]> = [];
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = entries.readBigUInt64LE(at);
      if (tag === 0n) break;
      tags.push([tag, entries.readBigUInt64LE(at + 8)]);
    }
    const strtabAddr = tags.find(([tag]) => tag === DT_STRTAB)?.[1];
    // DT_STRTAB holds a virtual address: map it to a file offset through the PT_LOAD segments.
    const load = loads.find((l) => strtabAddr !== undefined && strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
    if (strtabAddr === undefined || load === undefined) return { ...(interpreter !== undefined ? { interpreter } : {}), needed: [], runpath: [] };
    const strtab = Number(strtabAddr - load.vaddr + load.offset);
    const string = (index: bigint): string => cString(read(strtab + Number(index), 4096), 0);

    const needed = tags.filter(([tag]) => tag === DT_NEEDED).map(([, value]) => string(value));
    const pathTag = tags.find(([tag]) => tag === DT_RUNPATH) ?? tags.find(([tag]) => tag === DT_RPATH);
    const runpath = pathTag === undefined ? [] : string(pathTag[1]).split(':').filter((dir) => dir !== '');
    return { ...(interpreter !== undefined ? { interpreter } : {}), needed, runpath };
  } finally {
    closeSync(fd);
  }
}

function cString(buffer: Buffer, start: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end === -1 ? buffer.length : end);
}
