import type { CommandSpec } from '../command.js';

/** Every command, from each concern's module. */
export const COMMANDS: CommandSpec[] = [];
