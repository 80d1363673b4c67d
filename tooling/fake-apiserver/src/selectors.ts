// Label and field selectors in the API server's syntax (k8s.io/apimachinery labels and
// fields), enough for a fake: equality, inequality, set-based label requirements.

/** An object as the fake stores it: metadata plus whatever else the client sent. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

/** A selector the fake cannot read: answered as the real server does, 400 BadRequest. */
export class SelectorError extends Error {}

type Requirement = (labels: Record<string, string>) => boolean;

// Split on commas outside parentheses: `a in (x,y),b` is two requirements.
function requirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = '([A-Za-z0-9][-A-Za-z0-9_./]*)';

/** A label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) as a predicate on labels. */
export function labelSelector(text: string | null): Requirement {
  if (text === null || text.trim() === '') return () => true;
  const checks = requirements(text).map((req): Requirement => {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^${KEY}\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(req))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    if ((m = new RegExp(`^${KEY}\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(req))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      return op === 'in' ? (l) => l[key] !== undefined && values.has(l[key]) : (l) => l[key] === undefined || !values.has(l[key]);
    }
    if ((m = new RegExp(`^(!?)${KEY}$`).exec(req))) {
      const [, not, key] = m as unknown as [string, string, string];
      return not === '!' ? (l) => !(key in l) : (l) => key in l;
    }
    throw new SelectorError(`unable to parse requirement: ${JSON.stringify(req)}`);
  });
  return (labels) => checks.every((check) => check(labels));
}

const POD_FIELDS: Record<string, (o: KubeObject) => string> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
  'spec.nodeName': (o) => (o['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '',
  'status.phase': (o) => (o['status'] as { phase?: string } | undefined)?.phase ?? '',
  'status.podIP': (o) => (o['status'] as { podIP?: string } | undefined)?.podIP ?? '',
};

/** A pod field selector (`spec.nodeName=a,status.phase!=Failed`) as a predicate. */
export function podFieldSelector(text: string | null): (o: KubeObject) => boolean {
  if (text === null || text.trim() === '') return () => true;
  const checks = requirements(text).map((req) => {
    const m = /^([a-zA-Z.]+)\s*(==|=|!=)\s*(.*)$/.exec(req);
    if (!m) throw new SelectorError(`invalid field selector: ${JSON.stringify(req)}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = POD_FIELDS[field];
    if (!get) throw new SelectorError(`field label not supported: ${field}`);
    return op === '!=' ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
  });
  return (o) => checks.every((check) => check(o));
}
