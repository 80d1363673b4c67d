// git's pkt-line framing (gitprotocol-common): four hex digits of length (including
// themselves), then the payload; "0000" is a flush packet.
import { FloxmetaTransportError } from './errors.ts';

/** One pkt-line holding `text`. */
export function pktLine(text: string): string {
  return `${(text.length + 4).toString(16).padStart(4, '0')}${text}`;
}

/** The remote spoke, but not git's protocol as expected. */
export function protocolError(label: string, what: string): FloxmetaTransportError {
  return new FloxmetaTransportError(`${label}: not a git smart-HTTP answer: ${what}`);
}

/** Reads pkt-lines out of a buffered response; any overrun or bad length is a protocol error. */
export class PktReader {
  offset = 0;
  readonly bytes: Uint8Array;
  readonly label: string;
  constructor(bytes: Uint8Array, label: string) {
    this.bytes = bytes;
    this.label = label;
  }

  next(): Uint8Array | 'flush' {
    if (this.offset + 4 > this.bytes.length) throw protocolError(this.label, 'the response ends early');
    const head = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + 4));
    if (!/^[0-9a-f]{4}$/.test(head)) throw protocolError(this.label, `bad pkt-line length "${head}"`);
    const length = Number.parseInt(head, 16);
    if (length === 0) {
      this.offset += 4;
      return 'flush';
    }
    if (length < 4 || this.offset + length > this.bytes.length) throw protocolError(this.label, `pkt-line of ${length} bytes overruns the response`);
    const payload = this.bytes.subarray(this.offset + 4, this.offset + length);
    this.offset += length;
    return payload;
  }
}
