// The patch service in a process of its own, as the node agent runs it (bench/warm-start.ts).
//   node --conditions=@flox-k8s/source bench/patch-service-process.ts CONFIG
// Prints "ready" once the request FIFO is served; stops on SIGTERM.
import { loadConfig } from '@flox-k8s/config';
import { listenPatchService, ViewMounter } from '@flox-k8s/interposer';
import { profilesDirOf } from '@flox-k8s/store';
import { fileLogger } from '../src/log/index.ts';

const config = loadConfig(process.argv[2] ?? '', { required: true });
const log = fileLogger(config.logFile, { component: 'patch-service' });
// As the agent: large closures' store views mounted on the host after their first create.
const storeViews = new ViewMounter({ ...config.storeViewMounts, profilesDir: profilesDirOf(config.storeRoot), log });
const service = await listenPatchService({ dir: config.patchServiceDir, config, log, storeViews });
process.stdout.write('ready\n');
process.once('SIGTERM', () => void service.close().then(() => process.exit(0)));
