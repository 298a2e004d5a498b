import type { CommandSpec } from '../command.js';
import { deviceCommands } from './devices.js';
import { hubCommands } from './hub.js';

/** Every command, from each concern's module. */
export const COMMANDS: CommandSpec[] = [...hubCommands, ...deviceCommands];
