// Every `flox-k8s` command, in the order `--help` lists them. A new command is a file in this
// directory exporting a `defineCommand(…)` and one line here.
import type { CliCommand } from '../command.ts';
import { doctorCommand } from './doctor.ts';
import { publishCommand } from './publish.ts';
import { realiseCommand } from './realise.ts';
import { resolveCommand } from './resolve.ts';
import { sbomCommand } from './sbom.ts';
import { statusCommand } from './status.ts';
import { whoUsesCommand } from './who-uses.ts';

export const commands: readonly CliCommand[] = [publishCommand, resolveCommand, realiseCommand, sbomCommand, whoUsesCommand, doctorCommand, statusCommand];
