/**
 * The console names itself in every call (the SDK's X-Amz-User-Agent, which Cairn records for a
 * browser's calls), so Event history can tell the console's own polling reads from other activity.
 */
const CONSOLE_AGENT_NAME = "cairn-console";
const CONSOLE_AGENT_VERSION = "1";

/** The SDK's customUserAgent pair, rendered `cairn-console/1`. */
export const CONSOLE_USER_AGENT: [string, string] = [CONSOLE_AGENT_NAME, CONSOLE_AGENT_VERSION];

/** The header the live stream's fetch sends (the SDK is not involved there). */
export const CONSOLE_AGENT_HEADER = `${CONSOLE_AGENT_NAME}/${CONSOLE_AGENT_VERSION}`;
