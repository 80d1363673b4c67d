import { describe, expect, it } from 'vitest';
import { mergeEnvironment } from './env.ts';
import type { PlanVariable } from './plan.ts';

const v = (name: string, value: string, merge: PlanVariable['merge']): PlanVariable => ({ name, value, merge });

describe('mergeEnvironment', () => {
  it('prepends PATH-like variables to what the image/pod set', () => {
    expect(mergeEnvironment(['PATH=/usr/bin:/bin'], [v('PATH', '/flox/bin', 'prepend')])).toEqual(['PATH=/flox/bin:/usr/bin:/bin']);
  });

  it('uses the prepended value alone when the container does not set the variable or sets it empty', () => {
    expect(mergeEnvironment([], [v('MANPATH', '/flox/share/man', 'prepend')])).toEqual(['MANPATH=/flox/share/man']);
    expect(mergeEnvironment(['MANPATH='], [v('MANPATH', '/flox/share/man', 'prepend')])).toEqual(['MANPATH=/flox/share/man']);
    // Flox's MANPATH ends in ':'; joining must not make '::' (man's "default path here"), and stays idempotent.
    const manpath = [v('MANPATH', '/flox/share/man:', 'prepend')];
    expect(mergeEnvironment(['MANPATH=/usr/share/man'], manpath)).toEqual(['MANPATH=/flox/share/man:/usr/share/man']);
    expect(mergeEnvironment(mergeEnvironment(['MANPATH=/usr/share/man'], manpath), manpath)).toEqual(['MANPATH=/flox/share/man:/usr/share/man']);
    expect(mergeEnvironment([], manpath)).toEqual(['MANPATH=/flox/share/man:']);
  });

  it('set overrides what the pod set', () => {
    expect(mergeEnvironment(['FLOX_ENV=/elsewhere'], [v('FLOX_ENV', '/flox', 'set')])).toEqual(['FLOX_ENV=/flox']);
  });

  it('default ([vars]) loses to a pod-set variable, even an empty one, and fills in otherwise', () => {
    expect(mergeEnvironment(['GREETING=pod', 'EMPTY='], [v('GREETING', 'vars', 'default'), v('EMPTY', 'vars', 'default')])).toEqual([
      'GREETING=pod',
      'EMPTY=',
    ]);
    expect(mergeEnvironment(['A=1'], [v('GREETING', 'vars', 'default')])).toEqual(['A=1', 'GREETING=vars']);
  });

  it('keeps untouched entries byte-for-byte and in place, appends new ones in plan order', () => {
    const existing = ['Z=last=with=equals', 'PATH=/bin', 'A= spaced '];
    expect(mergeEnvironment(existing, [v('NEW2', 'b', 'set'), v('PATH', '/f', 'prepend'), v('NEW1', 'a', 'set')])).toEqual([
      'Z=last=with=equals',
      'PATH=/f:/bin',
      'A= spaced ',
      'NEW2=b',
      'NEW1=a',
    ]);
  });

  it('collapses duplicates of a variable it touches onto the first position, using the last value', () => {
    expect(mergeEnvironment(['PATH=/a', 'X=1', 'PATH=/b'], [v('PATH', '/f', 'prepend')])).toEqual(['PATH=/f:/b', 'X=1']);
  });

  it('folds several entries for one name in order: prepend B after prepend A gives B:A', () => {
    const plan = [v('PATH', '/a', 'prepend'), v('PATH', '/b', 'prepend')];
    const once = mergeEnvironment(['PATH=/bin'], plan);
    expect(once).toEqual(['PATH=/b:/a:/bin']);
    expect(mergeEnvironment(once, plan)).toEqual(once);
  });

  it('a prepend after set or default applies to that value', () => {
    expect(mergeEnvironment([], [v('X', 'base', 'set'), v('X', 'pre', 'prepend')])).toEqual(['X=pre:base']);
    expect(mergeEnvironment(['X=pod'], [v('X', 'base', 'default'), v('X', 'pre', 'prepend')])).toEqual(['X=pre:pod']);
    expect(mergeEnvironment([], [v('X', 'pre', 'prepend'), v('X', 'late', 'default')])).toEqual(['X=pre']);
  });

  it('is idempotent for every merge kind', () => {
    const plan = [v('PATH', '/f/bin', 'prepend'), v('FLOX_ENV', '/f', 'set'), v('G', 'x', 'default'), v('X', 'b', 'set'), v('X', 'p', 'prepend')];
    for (const start of [[], ['PATH=/bin', 'G=pod'], ['PATH=/f/bin:/bin', 'FLOX_ENV=/old']]) {
      const once = mergeEnvironment(start, plan);
      expect(mergeEnvironment(once, plan)).toEqual(once);
    }
  });

  it('does not prepend again when the value already starts with the prefix as a whole list element', () => {
    expect(mergeEnvironment(['PATH=/f/bin'], [v('PATH', '/f/bin', 'prepend')])).toEqual(['PATH=/f/bin']);
    // `/f/bin2` merely shares a string prefix: that is not our entry.
    expect(mergeEnvironment(['PATH=/f/bin2'], [v('PATH', '/f/bin', 'prepend')])).toEqual(['PATH=/f/bin:/f/bin2']);
  });

  it('returns a copy when the plan is empty', () => {
    const existing = ['A=1'];
    const out = mergeEnvironment(existing, []);
    expect(out).toEqual(existing);
    expect(out).not.toBe(existing);
  });
});
