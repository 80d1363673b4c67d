// The webhook's deploy manifests: every object validates against its OpenAPI schema
// (kubernetes-models, cert-manager's CRDs), and the pieces fit together: the webhook
// configurations call the Service the Deployment backs, with the CA of the Certificate whose
// Secret the Deployment mounts; they match what the ValidatingAdmissionPolicy matches; the
// shipped config and policy parse, and name files inside the mounted volumes.
import { readFileSync } from 'node:fs';
import { Certificate, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAdmissionConfig } from '../src/config.ts';
import { DEFAULT_ADMISSION_CONFIG } from '../src/env.ts';
import { ADMISSION_IMAGE_NAME } from '../src/image/admission-image.ts';
import { parsePolicy } from '../src/policy.ts';
import { loadManifests } from './vap.ts';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: unknown };

const dir = new URL('../deploy/webhook/', import.meta.url);
const kustomization = parseAllDocuments(readFileSync(new URL('kustomization.yaml', dir), 'utf8'))[0]!.toJS() as { resources: string[] };
const objects: Obj[] = kustomization.resources.flatMap((file) => parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((d) => d.toJS() as Obj));
const one = <T = Obj>(kind: string, name?: string): T => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as T;
};

const models: Record<string, new (data: never) => { validate(): void }> = {
  Namespace, ServiceAccount, ConfigMap, Secret, Service, Deployment, PodDisruptionBudget, MutatingWebhookConfiguration, ValidatingWebhookConfiguration, Issuer, Certificate,
};

type Webhook = {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  timeoutSeconds: number;
  admissionReviewVersions: string[];
  namespaceSelector: { matchLabels: Record<string, string> };
  clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
  rules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }>;
};

describe('webhook deploy manifests', () => {
  it('validate against the Kubernetes and cert-manager schemas', () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const object of objects) {
      const Model = models[object.kind];
      expect(Model, `no validator for ${object.kind}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('fail closed, quickly, on AdmissionReview v1 only, in opted-in namespaces, for exactly what the policy matches', () => {
    const service = one<{ metadata: { name: string; namespace: string }; spec: { ports: Array<{ port: number; targetPort: string }> } }>('Service');
    const vapRules = loadManifests(new URL('../deploy/', import.meta.url)).policy.spec.matchConstraints.resourceRules;
    for (const [kind, path] of [['MutatingWebhookConfiguration', '/mutate'], ['ValidatingWebhookConfiguration', '/validate']] as const) {
      const config = one<Obj & { webhooks: Webhook[] }>(kind);
      expect(config.webhooks).toHaveLength(1);
      const webhook = config.webhooks[0]!;
      expect(webhook).toMatchObject({ failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'], namespaceSelector: { matchLabels: { 'flox.dev/admission': 'enabled' } } });
      expect(webhook.timeoutSeconds).toBeLessThanOrEqual(5);
      expect(webhook.clientConfig.service).toEqual({ name: service.metadata.name, namespace: service.metadata.namespace, path, port: service.spec.ports[0]!.port });
      expect(webhook.rules.map(({ apiGroups, apiVersions, operations, resources }) => ({ apiGroups, apiVersions, operations, resources }))).toEqual(vapRules);
      const certificate = one('Certificate');
      expect(config.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${certificate.metadata.namespace}/${certificate.metadata.name}`);
    }
  });

  it('serve TLS from the Certificate\'s Secret on the name the webhooks call, with the shipped config and policy', () => {
    const certificate = one<Obj & { spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string } } }>('Certificate');
    const service = one('Service');
    expect(certificate.spec.dnsNames).toContain(`${service.metadata.name}.${service.metadata.namespace}.svc`);
    expect(one('Issuer').metadata.name).toBe(certificate.spec.issuerRef.name);

    type Volume = { name: string; secret?: { secretName: string }; configMap?: { name: string } };
    type Container = { image: string; env: Array<{ name: string; value: string }>; ports: Array<{ name: string; containerPort: number }>; volumeMounts: Array<{ name: string; mountPath: string }> };
    const deployment = one<Obj & { spec: { template: { spec: { volumes: Volume[]; containers: Container[] } } } }>('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]!;
    expect(container.image).toBe(ADMISSION_IMAGE_NAME);
    const mountOf = (volume: (v: Volume) => boolean): string => {
      const v = pod.volumes.find(volume);
      expect(v).toBeDefined();
      return container.volumeMounts.find((m) => m.name === v!.name)!.mountPath;
    };
    const tlsDir = mountOf((v) => v.secret?.secretName === certificate.spec.secretName);
    const configMap = one<Obj & { data: Record<string, string> }>('ConfigMap', 'flox-admission-config');
    const configDir = mountOf((v) => v.configMap?.name === configMap.metadata.name);
    const policyMap = one<Obj & { data: Record<string, string> }>('ConfigMap', 'flox-admission-policy');
    const policyDir = mountOf((v) => v.configMap?.name === policyMap.metadata.name);
    const secretsDir = mountOf((v) => v.secret?.secretName === one('Secret').metadata.name);

    expect(container.env).toContainEqual({ name: 'FLOXK8S_ADMISSION_CONFIG', value: `${configDir}/config.json` });
    expect(`${configDir}/config.json`).toBe(DEFAULT_ADMISSION_CONFIG);
    const config = parseAdmissionConfig(JSON.parse(configMap.data['config.json']!));
    expect(config.tls).toMatchObject({ certFile: `${tlsDir}/tls.crt`, keyFile: `${tlsDir}/tls.key` });
    expect(config.policyFile).toBe(`${policyDir}/policy.yaml`);
    expect(config.sources.map((s) => (s.type === 'hub' ? s.tokenFile : undefined))).toEqual([`${secretsDir}/hub-token`]);
    expect(container.ports).toContainEqual({ name: 'https', containerPort: config.listen.port, protocol: 'TCP' });
    expect(parsePolicy(policyMap.data['policy.yaml']!).rules).toBe(3);
  });
});
