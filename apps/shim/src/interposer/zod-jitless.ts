// Imported first by the per-create entry point (main.ts, before the patching code),
// before any module builds a zod schema; not by the node agent's patch
// service, a long-lived process where the compiled parsers pay off:
// zod's object parsers otherwise compile a specialised function with `new Function`
// on first use, which pays off for a long-lived process, not for one spec parse in a
// process that lives for milliseconds. zod reads this flag when a schema is built.
import { z } from 'zod';

z.config({ jitless: true });
