import type { CommandSpec } from '../command.js';
import { deviceCommands } from './devices.js';
import { hubCommands } from './hub.js';
import { keyCommands } from './key.js';
import { consentCommands } from './consent.js';
import { ledgerCommands } from './ledger.js';
import { reportCommands } from './report.js';
import { privacyCommands } from './privacy.js';
import { scaleCommands } from './scale.js';
import { backupCommands } from './backup.js';
import { adminCommands } from './admin.js';
import { webCommands } from './web.js';
import { integrationCommands } from './integrations.js';
import { dbCommands } from './db.js';

/** Every command, from each concern's module. */
export const COMMANDS: CommandSpec[] = [...hubCommands, ...deviceCommands, ...keyCommands, ...consentCommands, ...reportCommands, ...ledgerCommands, ...scaleCommands, ...privacyCommands, ...backupCommands, ...adminCommands, ...webCommands, ...integrationCommands, ...dbCommands];
