import { FLOX_ENV_CACHE_DIR } from '@flox-k8s/interposer';
import { STUB_MOUNT_POINTS } from '@flox-k8s/oci-image';
import { STORE_DIR } from '@flox-k8s/oci-patch';
import { DEFAULT_PROFILE_MOUNT_PATH } from '@flox-k8s/store';
import { describe, expect, it } from 'vitest';

// The stub image install imports carries the mount points of a flox container, so runc makes none
// of them in the container's writable layer at start. Each of the patch's destinations has its own
// home; this is where they meet the stub's list.
describe('the stub image and the patch', () => {
  it('the stub has a directory for each destination every flox patch mounts', () => {
    const directories = STUB_MOUNT_POINTS.filter((p) => p.endsWith('/')).map((p) => `/${p.slice(0, -1)}`);
    expect([STORE_DIR, DEFAULT_PROFILE_MOUNT_PATH, FLOX_ENV_CACHE_DIR].filter((d) => !directories.includes(d))).toEqual([]);
  });
});
