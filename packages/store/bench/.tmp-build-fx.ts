import { nixLargeFixtures } from '@flox-k8s/nix-fixtures';
const t0 = Date.now();
const a = await nixLargeFixtures();
console.log('A', a.root, a.closure.length, a.narSize, Date.now() - t0);
const b = await nixLargeFixtures({ variant: 'shared90' });
const sa = new Set(a.closure);
const shared = b.closure.filter((p) => sa.has(p));
console.log('B', b.root, b.closure.length, b.narSize, 'shared', shared.length, Date.now() - t0);
console.log('new', b.closure.filter((p) => !sa.has(p)).join(' '));
