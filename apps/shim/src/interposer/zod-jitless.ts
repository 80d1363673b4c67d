// Imported first by the create/exec paths, before any module builds a zod schema:
// zod's object parsers otherwise compile a specialised function with `new Function`
// on first use, which pays off for a long-lived process, not for one spec parse in a
// process that lives for milliseconds. zod reads this flag when a schema is built.
import { z } from 'zod';

z.config({ jitless: true });
