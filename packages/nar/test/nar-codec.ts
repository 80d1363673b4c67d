// This package's own codec, handed to @flox-k8s/hostile-nars' signed-cache writer.
import type { NarCodec } from '@flox-k8s/hostile-nars';
import { formatSha256 } from '../src/hash.ts';
import { serializeNarinfo } from '../src/narinfo.ts';
import { nix32Encode } from '../src/nix32.ts';
import { signNarinfo, type SecretKey } from '../src/signatures.ts';

export const NAR_CODEC: NarCodec<string | SecretKey> = { formatSha256, serializeNarinfo, nix32Encode, signNarinfo };
