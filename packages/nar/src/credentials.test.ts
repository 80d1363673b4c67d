import { beforeAll, describe, expect, it } from 'vitest';
import { credentialsFor, parseCredentialsFile, type CredentialsTable } from './credentials.ts';

describe('credentials file', () => {
  let table: CredentialsTable;
  beforeAll(async () => {
    table = await parseCredentialsFile(
    JSON.stringify({
      version: 1,
      caches: [
        { url: 'https://cache.example.com', bearer: 'top' },
        { url: 'https://cache.example.com/team/', username: 'u', password: 'p' },
        ],
      }),
    );
  });

  it('matches the longest URL prefix on path boundaries', () => {
    expect(credentialsFor(table, 'https://cache.example.com')).toEqual({ bearer: 'top' });
    expect(credentialsFor(table, 'https://cache.example.com/other')).toEqual({ bearer: 'top' });
    expect(credentialsFor(table, 'https://cache.example.com/team/x')).toEqual({ username: 'u', password: 'p' });
    expect(credentialsFor(table, 'https://cache.example.community')).toBeUndefined();
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['a wrong version', '{"version":2,"caches":[]}', /version/],
    ['a bad URL', '{"version":1,"caches":[{"url":"nope","bearer":"x"}]}', /caches\[0\]/],
    ['both forms mixed', '{"version":1,"caches":[{"url":"https://a","bearer":"x","username":"u","password":"p"}]}', /caches\[0\]/],
  ])('rejects %s with FLOXK8S_CREDENTIALS_INVALID and a readable path', async (_why, text, message) => {
    await expect(parseCredentialsFile(text)).rejects.toMatchObject({ code: 'FLOXK8S_CREDENTIALS_INVALID', message: expect.stringMatching(message) });
  });
});
