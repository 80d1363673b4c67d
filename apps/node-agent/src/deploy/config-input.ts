import type { z } from 'zod';
import type { agentConfigSchema } from '../config.ts';

/** The agent config file as written (defaults may be left out). */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
