/** Version of the agent (kept in step with package.json). */
export const AGENT_VERSION = '0.0.0';
