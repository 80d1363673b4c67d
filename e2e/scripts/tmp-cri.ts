import { join } from 'node:path';
import { startContainerd, criClient, hostNetworkPod, containerConfig, containerLogPath, waitForContainer, readContainerLog, removePod } from '../src/harness/index.ts';
const v = (process.argv[2] ?? '1.6') as '1.6';
let t = Date.now();
const h = await startContainerd({ version: v });
console.log('started', Date.now() - t);
const cri = criClient(h.socket);
try {
  console.log(await cri.version());
  console.log(JSON.stringify(await cri.status()));
  t = Date.now();
  const pod = await hostNetworkPod({ name: 'p1', logDirectory: join(h.paths.podLogs, 'p1') });
  const podId = await cri.runPodSandbox(pod);
  console.log('pod', Date.now() - t);
  const c = containerConfig({ name: 'echo', image: 'flox-k8s.test/busybox:1', command: ['sh', '-c', 'echo hello; echo err >&2; printf partial; sleep 1000'] });
  const id = await cri.createContainer(podId, c, pod);
  await cri.startContainer(id);
  console.log('container', Date.now() - t);
  const ex = await cri.execSync(id, ['echo', 'exec-out']);
  console.log('exec', ex.exitCode, JSON.stringify(ex.stdout.toString()));
  await cri.stopContainer(id, 0);
  const st = await waitForContainer(cri, id);
  console.log(st.state, st.exit_code, st.reason);
  const log = await readContainerLog(containerLogPath(pod, c));
  console.log(JSON.stringify(log.stdout.toString()), JSON.stringify(log.stderr.toString()));
  await removePod(cri, podId);
  console.log('total', Date.now() - t);
} catch (e) { console.error(e); console.log((await h.log()).split('\n').slice(-15).join('\n')); }
finally { cri.close(); t = Date.now(); await h.stop(); console.log('stopped', Date.now() - t); }
