// The only module of the webhook that reads process.env (STYLE.md: one config module per app).
export const DEFAULT_ADMISSION_CONFIG = '/etc/flox-admission/config/config.json';

export function readAdmissionEnv(env: NodeJS.ProcessEnv = process.env): { configPath: string } {
  return { configPath: env['FLOXK8S_ADMISSION_CONFIG'] || DEFAULT_ADMISSION_CONFIG };
}
