/**
 * `@flox-k8s/git-server`: a real git smart-HTTP server on loopback (`git http-backend`
 * behind a Node CGI bridge, optionally token-protected) and FloxHub-style floxmeta
 * repositories made with the git CLI. Private; for tests and the e2e suites.
 * @module
 */
export { serveGit, floxhubAuthorization, type ServeGitOptions, type GitServer, type GitRequest } from './serve-git.ts';
export { FloxmetaRemote, liveGeneration, type FloxMetadata, type FloxHistoryEntry, type GenerationFiles, type FileChange } from './floxmeta.ts';
export { git, GitCommandError } from './git.ts';
export { gitSkipReason } from './availability.ts';
